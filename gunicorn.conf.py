"""gunicorn settings, overridable by environment variables (see README, "Production")."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:5000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
worker_class = "gthread"
# A worker that hangs longer than this is killed and replaced; submissions are idempotent.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Restart workers now and then so a slow leak can never take the site down.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = 500
# Start the app once before forking; each worker then opens its own database connections.
preload_app = True
# "-" logs requests to stdout; an empty value turns the access log off.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
# Kiosk keys, receipt tokens and query values are masked in the access log, as in the app's own log.
logger_class = "webapp.ops.access_log.MaskingLogger"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def pre_fork(server, worker):
    """Move the preloaded app out of the garbage collector's reach before the fork: its full passes
    over those objects took tens of ms in a worker (the p90 of a kiosk batch, bench/README.md), and
    untouched pages stay shared with the master."""
    import gc

    gc.freeze()


def post_fork(server, worker):
    """Drop connections inherited from the master so no two processes share a socket."""
    from webapp.extensions import db

    app = worker.app.wsgi()
    with app.app_context():
        db.engine.dispose(close=False)


def on_starting(server):
    """Check rate limits are shared by the workers; start /metrics from zero."""
    _check_shared_rate_limits(server)
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
        for name in os.listdir(directory):
            if name.endswith(".db"):
                os.remove(os.path.join(directory, name))


def child_exit(server, worker):
    """A worker's counters stay counted after it exits; only its live gauges go."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def _check_shared_rate_limits(server):
    """Several workers counting rate limits in memory multiply every limit: refuse in production, warn otherwise."""
    from webapp.config import shared_rate_limit_problem

    config = server.app.wsgi().config  # preload_app: the app is already loaded in the master
    problem = shared_rate_limit_problem(config, server.cfg.workers)
    if problem is None:
        return
    if config.get("ENVIRONMENT") == "production":
        server.log.error("refusing to start: %s", problem)
        raise SystemExit(1)
    server.log.warning("!" * 72)
    server.log.warning("WARNING: %s", problem)
    server.log.warning("!" * 72)
