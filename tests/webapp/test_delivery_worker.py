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

import secrets

import pytest
from sqlalchemy import select

from tests.conftest import make_app, migrate_database
from tests.fakes import fake_gateway
from tests.workers import Workers, redis_namespace, wait_for, worker_environment

REDIS_DB = 6
PHONE = "0912345678"


@pytest.fixture()
def redis_db6():
    with redis_namespace(REDIS_DB, "sonla-delivery-test") as found:
        yield found


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
        workers = Workers(
            tmp_path,
            worker_environment(
                database,
                secret,
                url,
                namespace,
                SMS_GATEWAY_URL=gateway.url + "/sms",
                SMS_GATEWAY_TOKEN="gw",
                DELIVERY_HTTP_TIMEOUT="120",
            ),
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
            (delivery,) = request_delivery(
                row,
                survey_url=f"http://x.test/r/{token}",
                code=display_token(token),
                contact={"phone": PHONE},
                channels=["sms"],
            )
            db.session.commit()  # the message goes to Redis now
            delivery_id = delivery.id

        def current() -> tuple[str, int, str]:
            with app.app_context():
                found = db.session.get(Delivery, delivery_id)
                job = db.session.scalar(select(Job).where(Job.key == f"deliver:{delivery_id}"))
                return found.status, found.attempts, job.state

        first = workers.start("first")
        second = None
        try:
            wait_for(lambda: len(gateway.calls) == 1, "the first worker to call the gateway", [first])
            workers.kill(first)  # mid-call: the gateway has the request, we have no answer
            assert current() == ("queued", 1, "running")

            second = workers.start("second")
            wait_for(lambda: current()[0] != "queued", "the second worker to send", [second])
            assert current() == ("sent", 2, "done"), workers.log("second")
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
            wait_for(lambda: current()[2] == "done", "the duplicate to be handled", [second])
            assert len(gateway.calls_to("/sms")) == 2
            assert current() == ("sent", 2, "done")
        finally:
            workers.stop_all()
            with app.app_context():
                db.engine.dispose()
