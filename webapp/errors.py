"""Plain-language error pages (HTML) and error documents (JSON under ``/api/``)."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

#: Status codes with their own page; anything else falls back to the generic page.
PAGES = {400, 403, 404, 405, 413, 429, 500, 503}


def _messages() -> dict[int, tuple[str, str]]:
    """Title and explanation of each error, in the request's language."""
    return {
        400: (
            _("The request could not be understood"),
            _("Something in the request was not valid. Go back, check what you entered and try again."),
        ),
        403: (
            _("You do not have access to this page"),
            _("Your account cannot open this page. If you think it should, ask the Department of Home Affairs."),
        ),
        404: (
            _("Page not found"),
            _(
                "If you typed the web address, check it is correct. If you followed a link or scanned a code, it may be out of date."
            ),
        ),
        405: (
            _("This action is not allowed here"),
            _("The page does not accept this kind of request. Go back and use the buttons on the page."),
        ),
        413: (_("What you sent is too large"), _("Send a smaller file or a shorter text and try again.")),
        429: (_("Too many requests"), _("You have sent many requests in a short time. Wait a minute, then try again.")),
        500: (
            _("Sorry, something went wrong on our side"),
            _("Nothing you did caused this. Your answers already sent are safe. Please try again in a few minutes."),
        ),
        503: (
            _("The service is briefly unavailable"),
            _("We are back in a few minutes. Nothing already sent is lost. Please try again soon."),
        ),
    }


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def render_error(
    status: int, title: str | None = None, message: str | None = None, template: str = "errors/error.html"
):
    """Answer ``status`` as a page or, under ``/api/``, as ``{"error": {...}}``."""
    default_title, default_message = _messages().get(status, _messages()[500 if status >= 500 else 400])
    title = title or default_title
    message = message or default_message
    if _wants_json():
        return jsonify(error={"status": status, "title": title, "message": message}), status
    return render_template(template, status=status, title=title, message=message), status


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_expired(error: CSRFError):
        if _wants_json():
            message = _("The page's security token is missing or expired. Reload the page and send again.")
            return jsonify(
                error={"status": 400, "field": "X-CSRFToken", "code": "csrf_failed", "message": message}
            ), 400
        return render_error(
            400,
            _("This form has expired"),
            _(
                "For your security, forms expire after a while. Go back, reload the page and send it again; nothing was saved."
            ),
            template="errors/csrf.html",
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        if status == 405 and getattr(error, "valid_methods", None):  # RFC 9110: a 405 names the allowed methods
            body, _status = render_error(status)
            return body, status, {"Allow": ", ".join(error.valid_methods)}
        if status in PAGES:
            return render_error(status)
        return render_error(status, error.name, error.description)

    @app.errorhandler(OperationalError)
    def database_unavailable(error: OperationalError):
        app.logger.error("database unavailable: %s", error.__class__.__name__)
        return render_error(ServiceUnavailable.code)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        app.logger.exception("unhandled error")
        return render_error(InternalServerError.code)
