"""``/metrics`` in Prometheus's text format, for the counters of :mod:`webapp.ops.metrics`.

Off (404) unless ``METRICS_ENABLED``; with ``METRICS_TOKEN`` set, scrapers must send
``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hmac
import os

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from webapp.access import OPERATOR, declare_access
from webapp.ops.metrics import MULTIPROC_ENV, enabled

metrics_bp = declare_access(Blueprint("ops_metrics", __name__), OPERATOR)


def _registry() -> CollectorRegistry:
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def _authorised() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        return True
    sent = request.headers.get("Authorization", "")
    return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())


@metrics_bp.get("/metrics")
def metrics() -> Response:
    """The counters, for Prometheus; 404 while metrics are off."""
    if not enabled():
        abort(404)
    if not _authorised():
        return Response(
            "A valid bearer token is required.\n",
            status=401,
            mimetype="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    return Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
