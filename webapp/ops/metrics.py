"""The counters behind ``/metrics`` (webapp.ops.metrics_views), off unless ``METRICS_ENABLED``.

Counted: requests by method, endpoint and status with a latency histogram; submissions by
channel and outcome (``created``, ``duplicate``, ``rejected``); kiosk queue-sync retries (the
kiosk sends ``X-Retry-Attempt``, the number of failed sends before this one).

With ``METRICS_TOKEN`` set, scrapers must send ``Authorization: Bearer <token>``. Under
gunicorn with several workers, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory
writable by the app (gunicorn.conf.py empties it at start): every worker then writes its
counts there and ``/metrics`` adds them up, whichever worker answers.
"""

from __future__ import annotations

import time

from flask import Flask, Response, current_app, g, has_request_context, request
from prometheus_client import Counter, Histogram

from webapp.models import CHANNELS

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
SUBMISSION_ENDPOINT = "collection_api.create_response"
RETRY_HEADER = "X-Retry-Attempt"
OUTCOMES = ("created", "duplicate", "rejected")

REQUESTS = Counter("sonla_http_requests_total", "HTTP requests answered.", ["method", "endpoint", "status"])
LATENCY = Histogram(
    "sonla_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["method", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
SUBMISSIONS = Counter(
    "sonla_submissions_total", "Survey responses received, by channel and outcome.", ["channel", "outcome"]
)
KIOSK_RETRIES = Counter(
    "sonla_kiosk_sync_retries_total", "Kiosk queue sends that retry an earlier failed send (X-Retry-Attempt > 0)."
)


def enabled() -> bool:
    return bool(current_app.config.get("METRICS_ENABLED"))


def record_submission(channel: str | None, outcome: str) -> None:
    """Count one submission; safe to call anywhere (does nothing while metrics are off)."""

    if not enabled() or outcome not in OUTCOMES:
        return
    SUBMISSIONS.labels(channel=channel if channel in CHANNELS else "unknown", outcome=outcome).inc()
    if has_request_context():
        g.submission_counted = True


def record_request(method: str, endpoint: str, status: int, seconds: float | None) -> None:
    """Count one answered request and its time (the hook below, and the cached pages' fast path)."""
    REQUESTS.labels(method=method, endpoint=endpoint, status=str(status)).inc()
    if seconds is not None:
        LATENCY.labels(method=method, endpoint=endpoint).observe(seconds)


def _endpoint() -> str:
    # The route's endpoint, never the raw path: a bounded set of label values.
    return request.url_rule.endpoint if request.url_rule is not None else "unmatched"


def _retry_attempt() -> int:
    try:
        return max(0, min(int(request.headers.get(RETRY_HEADER, "0")), 1_000_000))
    except ValueError:
        return 0


def init_app(app: Flask) -> None:
    """When metrics are on, the hooks that count requests (``/metrics`` is in ``metrics_views``)."""
    if not app.config.get("METRICS_ENABLED"):
        return

    def start_timer() -> None:
        g.metrics_started = time.perf_counter()

    # First of all before_request hooks, so requests refused early (rate limits) are timed too.
    app.before_request_funcs.setdefault(None, []).insert(0, start_timer)

    @app.after_request
    def count_request(response: Response) -> Response:
        endpoint = _endpoint()
        started = g.get("metrics_started")
        seconds = time.perf_counter() - started if started is not None else None
        record_request(request.method, endpoint, response.status_code, seconds)
        if endpoint == SUBMISSION_ENDPOINT:
            if _retry_attempt() > 0:
                KIOSK_RETRIES.inc()
            if 400 <= response.status_code < 500 and not g.get("submission_counted"):
                # Refused before reaching the submission service (bad JSON, unknown device, rate limit).
                record_submission(None, "rejected")
        return response
