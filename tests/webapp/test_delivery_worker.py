"""A delivery worker killed mid-send, with a real Redis (DB 6), real worker processes and the fake gateway.

The first ``flask jobs worker`` calls the SMS gateway, which holds the answer; the test kills the
worker's process group with SIGKILL while the call is open (the window the delivery docs describe:
the provider may have accepted, we never committed ``sent``). A second worker gets the re-delivered
message and sends again **with the same reference**, so a gateway that deduplicates on ``ref``
delivers one SMS; the delivery ends ``sent`` once. Then a duplicate message for the finished job
sends nothing.

Like the other Redis tests, this one fails (never skips) in CI when Redis does not answer.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess  # nosec B404
import sys
import time
import uuid

import pytest
from sqlalchemy import select

from tests.conftest import IN_CI, REPO, make_app, migrate_database
from tests.fakes import fake_gateway

REDIS_DB = 6
WAIT_SECONDS = 90
PHONE = "0912345678"


def _redis_url() -> str:
    base = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    return base.rsplit("/", 1)[0] + f"/{REDIS_DB}"


@pytest.fixture()
def redis_db6():
    """Redis DB 6 with a key namespace of this test's own; only those keys are removed afterwards."""
    import redis

    url = _redis_url()
    connection = redis.Redis.from_url(url, socket_timeout=2)
    try:
        connection.ping()
    except redis.RedisError as error:
        if IN_CI:
            pytest.fail(f"Redis does not answer at {url} ({error}): .ci/run must start it")
        pytest.skip(f"Redis does not answer at {url}")
    namespace = f"sonla-delivery-test-{uuid.uuid4().hex[:12]}"
    yield url, namespace
    for key in connection.scan_iter(match=f"{namespace}*"):
        connection.delete(key)
    connection.close()


def _wait_for(condition, what: str, processes=()) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        for process in processes:
            if process is not None and process.poll() is not None:
                raise AssertionError(f"the worker stopped (exit {process.returncode}) while waiting for {what}")
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


def test_a_worker_killed_during_the_provider_call_sends_again_with_the_same_reference(tmp_path, redis_db6):
    url, namespace = redis_db6
    database = f"sqlite:///{tmp_path / 'delivery.sqlite3'}"
    secret = secrets.token_hex(32)
    with fake_gateway(hang_seconds=60) as gateway:
        gateway.then("timeout")  # the first call hangs until the worker is killed
        settings = {
            "JOBS_MODE": "redis",
            "JOBS_BROKER_URL": url,
            "JOBS_REDIS_NAMESPACE": namespace,
            "SECRET_KEY": secret,
            "SMS_GATEWAY_URL": gateway.url + "/sms",
            "SMS_GATEWAY_TOKEN": "gw",
        }
        app = make_app(database, **settings)
        migrate_database(app)
        environment = {
            **os.environ,
            "APP_ENV": "development",
            "DATABASE_URL": database,
            "SECRET_KEY": secret,
            "RATELIMIT_STORAGE_URI": "memory://",
            "JOBS_MODE": "redis",
            "JOBS_BROKER_URL": url,
            "JOBS_REDIS_NAMESPACE": namespace,
            "JOBS_REDIS_HEARTBEAT_MS": "3000",
            "JOBS_REDIS_MAINTENANCE_CHANCE": "1000000",
            "SMS_GATEWAY_URL": gateway.url + "/sms",
            "SMS_GATEWAY_TOKEN": "gw",
            "DELIVERY_HTTP_TIMEOUT": "120",
        }
        command = [sys.executable, "-m", "flask", "--app", "webapp", "jobs", "worker", "--threads", "1"]

        def start_worker(name: str) -> subprocess.Popen:
            log = (tmp_path / f"{name}.log").open("w")
            return subprocess.Popen(  # noqa: S603  # nosec B603 — fixed arguments
                command, cwd=REPO, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

        from surveys.tokens import display_token, issue_token
        from webapp.delivery import request_delivery
        from webapp.extensions import db
        from webapp.models import Service, Unit
        from webapp.models.delivery import Delivery
        from webapp.models.jobs import Job
        from webapp.registry.loader import DATA_DIR
        from webapp.registry.service import load_everything

        with app.app_context():
            load_everything(DATA_DIR)
            unit = db.session.scalar(select(Unit).where(Unit.code == "n03646"))
            service = db.session.scalar(select(Service).where(Service.code == "civil-status"))
            token, row = issue_token(unit, service, "HS-KILL-1")
            db.session.commit()
            (delivery,) = request_delivery(row, survey_url=f"http://x.test/r/{token}", code=display_token(token),
                                           contact={"phone": PHONE}, channels=["sms"])
            db.session.commit()  # the message goes to Redis now
            delivery_id = delivery.id

        def current() -> tuple[str, int, str]:
            with app.app_context():
                found = db.session.get(Delivery, delivery_id)
                job = db.session.scalar(select(Job).where(Job.key == f"deliver:{delivery_id}"))
                return found.status, found.attempts, job.state

        first = start_worker("first")
        second = None
        try:
            _wait_for(lambda: len(gateway.calls) == 1, "the first worker to call the gateway", [first])
            os.killpg(first.pid, signal.SIGKILL)  # mid-call: the gateway has the request, we have no answer
            first.wait(30)
            assert current() == ("queued", 1, "running")

            second = start_worker("second")
            _wait_for(lambda: current()[0] != "queued", "the second worker to send", [second])
            assert current() == ("sent", 2, "done"), (tmp_path / "second.log").read_text()[-3000:]
            calls = gateway.calls_to("/sms")
            assert len(calls) == 2
            assert calls[0].body == calls[1].body  # same ref and text: a deduplicating gateway sends one SMS
            assert calls[0].body["ref"] == f"delivery-{delivery_id}"

            # A duplicate message for the finished job (a broker re-delivery) sends nothing more.
            from webapp.jobs.core import seal
            from webapp.jobs.runners import redis_actor

            with app.app_context():
                job = db.session.scalar(select(Job).where(Job.key == f"deliver:{delivery_id}"))
                job.state = "running"  # as a worker that died before its acknowledgement leaves it
                db.session.commit()
                redis_actor(app).send(job.id, seal({"to": PHONE, "survey_url": "u", "code": "c"}))
            # The job is marked done only after its handler returned: any call would have been made.
            _wait_for(lambda: current()[2] == "done", "the duplicate to be handled", [second])
            assert len(gateway.calls_to("/sms")) == 2
            assert current() == ("sent", 2, "done")
        finally:
            for process in (first, second):
                if process is not None and process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
                    try:
                        process.wait(30)
                    except subprocess.TimeoutExpired:
                        os.killpg(process.pid, signal.SIGKILL)
                        process.wait(10)
            with app.app_context():
                db.engine.dispose()
