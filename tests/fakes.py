"""Real local stand-ins for the message providers: an SMTP sink and an HTTP gateway.

* :class:`SmtpSink`: an ``aiosmtpd`` SMTP server on 127.0.0.1 that keeps every e-mail it receives.
* :class:`FakeGateway`: an ``http.server`` on 127.0.0.1 that records every call (path, headers,
  JSON body) and answers what the test scripts: ``"ok"`` (the default), ``"503"``, ``("429", 7)``
  (rate limited, ``Retry-After: 7``), ``"400"``, ``"timeout"`` (answers only after the client gave
  up), or ``("zalo_error", -124)``. It speaks both the SMS gateway contract and Zalo ZNS's answers.

Nothing leaves the machine: tests never depend on the internet.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _import_aiosmtpd_controller():
    """``aiosmtpd.controller.Controller``, imported beside this project's own ``public`` package.

    aiosmtpd does ``from public import public`` (the ``atpublic`` distribution), but this repository
    has a top-level package named ``public`` too, which wins on ``sys.path``. While aiosmtpd's modules
    are imported, ``sys.modules["public"]`` is atpublic's package; then the project's comes back.
    """
    import importlib.metadata
    import importlib.util
    import sys

    if "aiosmtpd.controller" in sys.modules:
        return sys.modules["aiosmtpd.controller"].Controller
    init = importlib.metadata.distribution("atpublic").locate_file("public/__init__.py")
    spec = importlib.util.spec_from_file_location("public", init, submodule_search_locations=[str(init.parent)])
    atpublic = importlib.util.module_from_spec(spec)
    project_public = sys.modules.get("public")
    project_submodules = {name: module for name, module in sys.modules.items() if name.startswith("public.")}
    sys.modules["public"] = atpublic
    try:
        spec.loader.exec_module(atpublic)
        from aiosmtpd.controller import Controller

        return Controller
    finally:
        for name in [name for name in sys.modules if name.startswith("public.")]:
            del sys.modules[name]
        sys.modules.update(project_submodules)
        if project_public is not None:
            sys.modules["public"] = project_public
        else:
            del sys.modules["public"]


Controller = _import_aiosmtpd_controller()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Collector:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(parsed)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


class SmtpSink:
    """An SMTP server on 127.0.0.1 keeping what it receives; ``url`` is the app's ``SMTP_URL``."""

    def __init__(self) -> None:
        self.collector = _Collector()
        self.port = free_port()
        self.controller = Controller(self.collector, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        with self.collector.lock:
            return list(self.collector.messages)

    @property
    def recipients(self) -> list[str]:
        with self.collector.lock:
            return [to for _, tos in self.collector.envelopes for to in tos]

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@dataclass
class Call:
    path: str
    headers: dict[str, str]
    body: Any


class FakeGateway:
    """An HTTP gateway on 127.0.0.1 that records calls and answers as scripted."""

    def __init__(self, hang_seconds: float = 2.0) -> None:
        self.calls: list[Call] = []
        self.script: deque = deque()
        self.hang_seconds = hang_seconds
        self.lock = threading.Lock()
        self._counter = 0
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep the test output quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's hook name)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                with gateway.lock:
                    gateway.calls.append(Call(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    step = gateway.script.popleft() if gateway.script else "ok"
                    gateway._counter += 1
                    number = gateway._counter
                gateway._answer(self, step, number)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def then(self, *steps) -> FakeGateway:
        """Answer the next calls with ``steps`` in order (then ``"ok"``)."""
        with self.lock:
            self.script.extend(steps)
        return self

    def calls_to(self, path: str) -> list[Call]:
        with self.lock:
            return [call for call in self.calls if call.path == path]

    def _answer(self, handler: BaseHTTPRequestHandler, step, number: int) -> None:
        name, argument = step if isinstance(step, tuple) else (step, None)
        if name == "timeout":
            time.sleep(self.hang_seconds)
            name = "ok"
        if name == "ok":
            if handler.path.startswith("/zalo"):
                document = {"error": 0, "message": "Success", "data": {"msg_id": f"zmsg-{number}"}}
            else:
                document = {"id": f"sms-{number}"}
            self._send(handler, 200, document)
        elif name == "zalo_error":
            self._send(handler, 200, {"error": argument, "message": "refused"})
        elif name == "429":
            self._send(handler, 429, {"error": "rate limited"}, {"Retry-After": str(argument or 1)})
        else:
            self._send(handler, int(name), {"error": name})

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, document: dict, headers: dict | None = None) -> None:
        data = json.dumps(document).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            pass

    def start(self) -> FakeGateway:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    try:
        yield sink
    finally:
        sink.stop()


@contextmanager
def fake_gateway(hang_seconds: float = 2.0) -> Iterator[FakeGateway]:
    gateway = FakeGateway(hang_seconds).start()
    try:
        yield gateway
    finally:
        gateway.stop()
