"""``/metrics``: off by default, token-protected when asked, and counting what operators watch."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import make_app

TOKEN = "s3cret-scrape-token"  # noqa: S105 (test value)


@pytest.fixture()
def metrics_app(app, db):
    return make_app(app.config["SQLALCHEMY_DATABASE_URI"], METRICS_ENABLED=True, METRICS_TOKEN=TOKEN)


@pytest.fixture()
def scrape(metrics_app):
    """``scrape()`` -> {(sample name, frozenset(labels)): value} from /metrics."""
    client = metrics_app.test_client()

    def read() -> dict:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200
        values = {}
        for family in text_string_to_metric_families(response.get_data(as_text=True)):
            for sample in family.samples:
                values[(sample.name, frozenset(sample.labels.items()))] = sample.value
        return values

    return read


def value(values: dict, name: str, **labels) -> float:
    return values.get((name, frozenset(labels.items())), 0.0)


def test_metrics_are_off_by_default(client):
    assert client.get("/metrics").status_code == 404


def test_a_token_is_required_when_set(metrics_app):
    client = metrics_app.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics").headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 401
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    assert "sonla_http_requests_total" in answer.get_data(as_text=True)


def test_no_token_needed_when_none_is_set(app, db):
    open_app = make_app(app.config["SQLALCHEMY_DATABASE_URI"], METRICS_ENABLED=True)
    assert open_app.test_client().get("/metrics").status_code == 200


def test_requests_are_counted_by_endpoint_and_status_with_latency(metrics_app, scrape):
    client = metrics_app.test_client()
    before = scrape()
    client.get("/healthz")
    client.get("/healthz")
    client.get("/no-such-page")
    after = scrape()
    ok = {"method": "GET", "endpoint": "pages.healthz", "status": "200"}
    assert value(after, "sonla_http_requests_total", **ok) - value(before, "sonla_http_requests_total", **ok) == 2
    missing = {"method": "GET", "endpoint": "unmatched", "status": "404"}
    assert (
        value(after, "sonla_http_requests_total", **missing) - value(before, "sonla_http_requests_total", **missing)
        == 1
    )
    timed = {"method": "GET", "endpoint": "pages.healthz"}
    count = "sonla_http_request_duration_seconds_count"
    assert value(after, count, **timed) - value(before, count, **timed) == 2
    bucket = {**timed, "le": "+Inf"}
    assert value(after, "sonla_http_request_duration_seconds_bucket", **bucket) == value(after, count, **timed)


def test_submissions_are_counted_by_channel_and_outcome(metrics_app, scrape, make_device, kiosk_body):
    _, key = make_device()
    client = metrics_app.test_client()
    headers = {"X-Device-Key": key}
    body = kiosk_body()
    before = scrape()
    assert client.post("/api/v1/responses", json=body, headers=headers).status_code == 201
    assert client.post("/api/v1/responses", json=body, headers=headers).status_code == 200
    assert (
        client.post("/api/v1/responses", json=kiosk_body(service="no-such-service"), headers=headers).status_code == 422
    )
    assert (
        client.post(
            "/api/v1/responses", data="{not json", headers={**headers, "Content-Type": "application/json"}
        ).status_code
        == 400
    )
    after = scrape()

    def delta(channel: str, outcome: str) -> float:
        labels = {"channel": channel, "outcome": outcome}
        return value(after, "sonla_submissions_total", **labels) - value(before, "sonla_submissions_total", **labels)

    assert delta("kiosk", "created") == 1
    assert delta("kiosk", "duplicate") == 1
    assert delta("kiosk", "rejected") == 1
    assert delta("unknown", "rejected") == 1


@pytest.mark.parametrize(("header", "counted"), [("3", 1), ("1", 1), ("0", 0), (None, 0), ("abc", 0), ("-2", 0)])
def test_kiosk_retries_are_counted(metrics_app, scrape, make_device, kiosk_body, header, counted):
    _, key = make_device()
    client = metrics_app.test_client()
    headers = {"X-Device-Key": key}
    if header is not None:
        headers["X-Retry-Attempt"] = header
    before = value(scrape(), "sonla_kiosk_sync_retries_total")
    assert client.post("/api/v1/responses", json=kiosk_body(), headers=headers).status_code == 201
    assert value(scrape(), "sonla_kiosk_sync_retries_total") - before == counted


def test_the_kiosk_sends_its_retry_attempt():
    """The offline queue tells the server how many sends failed before this one."""
    from tests.conftest import REPO

    script = (REPO / "surveys" / "static" / "kiosk" / "kiosk.js").read_text(encoding="utf-8")
    assert '"X-Retry-Attempt": String(failures)' in script
