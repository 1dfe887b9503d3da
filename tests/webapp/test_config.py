"""Configuration from the environment; production refuses to start without its secrets."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from webapp import create_app
from webapp.config import ProductionConfig, config_from_environment


def test_production_refuses_to_start_without_secret_key_and_database_url(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY, DATABASE_URL"):
        create_app(ProductionConfig)


def test_production_starts_with_them(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'p.sqlite3'}")
    monkeypatch.setenv("APP_ENV", "production")
    config = config_from_environment()
    assert config is ProductionConfig
    app = create_app(config)
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_unknown_app_env_is_an_error(monkeypatch):
    monkeypatch.setenv("APP_ENV", "staging-typo")
    with pytest.raises(RuntimeError, match="APP_ENV"):
        config_from_environment()


def test_proxy_fix_only_when_configured(monkeypatch, tmp_path):
    from tests.conftest import make_app

    plain = make_app(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    behind_proxy = make_app(f"sqlite:///{tmp_path / 'b.sqlite3'}", PROXY_FIX_X_FOR=1)
    assert plain.wsgi_app.__class__.__name__ != "ProxyFix"
    assert behind_proxy.wsgi_app.__class__.__name__ == "ProxyFix"


def test_gunicorn_config_is_valid(monkeypatch):
    """The shipped gunicorn.conf.py loads, uses threads and binds where the README says."""
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    path = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"
    spec = importlib.util.spec_from_file_location("gunicorn_conf", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.workers == 3
    assert module.worker_class == "gthread"
    assert module.bind == "127.0.0.1:5000"
    assert module.timeout > 0 and module.max_requests > 0
    assert callable(module.post_fork)
    from gunicorn.config import Config

    config = Config()
    for name in ("bind", "workers", "threads", "worker_class", "timeout", "max_requests", "preload_app"):
        config.set(name, getattr(module, name))
    assert config.workers == 3


def test_gunicorn_serves_the_app_with_the_shipped_config(tmp_path):
    """Start gunicorn with gunicorn.conf.py on a free port and get /healthz from it."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    repo = Path(__file__).resolve().parents[2]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'g.sqlite3'}",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "APP_ENV": "development",
        "GUNICORN_ACCESS_LOG": "",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    server.kill()
                    raise AssertionError(server.communicate()[0].decode(errors="replace")) from None
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_rate_limit_storage_prefers_its_own_setting_then_redis_url():
    from webapp.config import rate_limit_storage_uri

    assert rate_limit_storage_uri({}) == "memory://"
    assert rate_limit_storage_uri({"REDIS_URL": "redis://r:6379/0"}) == "redis://r:6379/0"
    both = {"REDIS_URL": "redis://r:6379/0", "RATELIMIT_STORAGE_URI": "redis://limits:6379/3"}
    assert rate_limit_storage_uri(both) == "redis://limits:6379/3"


def test_several_workers_need_shared_rate_limits():
    from webapp.config import shared_rate_limit_problem

    memory = {"RATELIMIT_STORAGE_URI": "memory://"}
    assert shared_rate_limit_problem(memory, 1) is None
    assert "multiplied by 3" in shared_rate_limit_problem(memory, 3)
    assert shared_rate_limit_problem({"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}, 9) is None
    assert shared_rate_limit_problem({**memory, "TESTING": True}, 3) is None


def test_production_has_no_generated_secret(monkeypatch, tmp_path):
    """Production never falls back to a generated key: it refuses to start instead."""
    from webapp.config import resolve_secret_key

    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        resolve_secret_key({"ENVIRONMENT": "production", "SECRET_KEY_FILE": str(tmp_path / "k")})
    assert not (tmp_path / "k").exists()


def test_secret_key_from_the_environment_wins(monkeypatch, tmp_path):
    from webapp.config import resolve_secret_key

    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    assert resolve_secret_key({"SECRET_KEY": None, "SECRET_KEY_FILE": str(tmp_path / "k")}) == "s" * 40
    assert not (tmp_path / "k").exists()


def test_concurrent_first_starts_agree_on_one_key(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from webapp.config import instance_secret

    path = tmp_path / "instance" / "secret_key"
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: instance_secret(path), range(16)))
    assert len(keys) == 1
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret_key"]  # no temporary file left
