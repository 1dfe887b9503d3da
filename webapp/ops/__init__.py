"""Operations: backups, request logs, metrics and the commands that drive them.

``init_app`` wires all of it into the application: the ``backup`` and ``restore`` commands,
one structured log line per request with its request id, and ``/metrics`` (off unless
``METRICS_ENABLED``).
"""

from __future__ import annotations

from flask import Flask

from webapp.ops import backup, logs, metrics
from webapp.ops.metrics_views import metrics_bp


def init_app(app: Flask) -> None:
    """Register the request log, the metrics endpoint and the backup commands."""

    logs.init_app(app)
    app.register_blueprint(metrics_bp)
    metrics.init_app(app)
    backup.init_app(app)
