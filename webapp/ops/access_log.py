"""gunicorn's access log, with kiosk keys, receipt tokens and query values masked.

gunicorn writes its own line per request, before and apart from the application's log
(:mod:`webapp.ops.logs`). It sees the raw request: the path with the kiosk's key
(``/kiosk/<device_key>``), the receipt link (``/r/<token>``), the receipt code typed into
``/r?code=…``, a Referer or Location holding such a URL, the ``X-Device-Key`` header. This
logger class (``logger_class`` in ``gunicorn.conf.py``) masks every one of them with the same
function as the application's log, so no secret reaches the access log whatever its format.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from webapp.ops.logs import MASK, mask_query_string, mask_secrets

#: Request headers whose values are secrets in themselves (``{x-device-key}i`` in a log format).
SECRET_HEADERS = ("x-device-key", "authorization", "proxy-authorization", "cookie", "set-cookie", "x-csrftoken")


def _is_secret_atom(name: str) -> bool:
    """``{x-device-key}i``, ``{cookie}i``, ``{set-cookie}o``, ``{http_x_device_key}e``…"""
    if not name.startswith("{"):
        return False
    header = name[1:].rsplit("}", 1)[0].lower().removeprefix("http_").replace("_", "-")
    return header in SECRET_HEADERS


class MaskingLogger(Logger):
    """gunicorn's logger whose access-log atoms never hold a key, a token or a query value."""

    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        for name, value in atoms.items():
            if not isinstance(value, str):
                continue
            if _is_secret_atom(name):
                atoms[name] = MASK
            elif name.lower() == "{query_string}e":
                atoms[name] = mask_query_string(value)
            else:
                atoms[name] = mask_secrets(value)
        # The request line from the decoded path the application routes on (``/%6Biosk/…`` is ``/kiosk/…``).
        path = mask_secrets(environ.get("PATH_INFO") or "")
        query = mask_query_string(environ.get("QUERY_STRING") or "")
        atoms["r"] = (
            f"{environ.get('REQUEST_METHOD')} {path}{'?' + query if query else ''} {environ.get('SERVER_PROTOCOL')}"
        )
        atoms["U"] = path
        atoms["q"] = query
        return atoms
