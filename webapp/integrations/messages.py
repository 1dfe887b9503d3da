"""Messages of the integration API and commands, in the requester's language."""

from __future__ import annotations

from flask_babel import gettext as _

from surveys import messages as survey_messages
from surveys.submission import FieldError
from webapp.services import ServiceError


def describe_field(error: FieldError) -> str:
    """What is wrong with ``error.field`` of a dossier report and what to do."""
    p = error.params
    messages = {
        "bearer_required": lambda: _("Send the client's secret token in the header Authorization: Bearer <token>."),
        "bearer_refused": lambda: _(
            "This token is unknown or has been revoked. Ask Sở Nội vụ for the client's current token."
        ),
        "out_of_scope": lambda: _("This client may not report dossiers of this unit."),
        "unit_ended": lambda: _("This unit no longer exists: report the dossier under the unit that replaced it."),
        "invalid_format": lambda: _("This value does not have the form described in the API documentation."),
        "returned_in_future": lambda: _("The date the result was returned is in the future. Check the system's clock."),
        "returned_too_old": lambda: _(
            "The result was returned more than %(days)s days ago: no survey link is made for it.",
            days=p.get("days", ""),
        ),
        "invalid_phone": lambda: _("Give a Vietnamese phone number: 0 or +84 followed by 9 digits."),
        "invalid_email": lambda: _("Give a valid e-mail address, for example nguyenvana@example.vn."),
        "contact_missing": lambda: _(
            "Sending by %(channel)s needs contact.%(field)s.", channel=p.get("channel", ""), field=p.get("needs", "")
        ),
        "conflicting_choice": lambda: _(
            "Choose either sms (the link by SMS) or sms_survey (the survey by SMS replies), not both."
        ),
        "dossier_other_service": lambda: _(
            "This dossier number already has a survey link for another service of this unit."
        ),
        "too_many_dossiers": lambda: _("Send at most %(count)s dossiers in one batch.", count=p.get("max", "")),
        "invalid_batch": lambda: _("The body must be an object whose field dossiers is a list of dossiers."),
        "too_large": lambda: _("The request body is too large."),
        "unsupported_media_type": lambda: _("Send the body as JSON with the header Content-Type: application/json."),
    }
    message = messages.get(error.code)
    return message() if message else survey_messages.describe(error)


def describe_refusal(error: ServiceError) -> str:
    """A refused client action (create, revoke), for the admin page and the command line."""
    p = error.params
    messages = {
        "client_name_missing": lambda: _("Give the client a name, for example Hệ thống một cửa tỉnh."),
        "client_name_invalid": lambda: _(
            "Write the name in %(count)s printable characters or fewer.", count=p.get("max", "")
        ),
        "client_unit_missing": lambda: _("Choose the unit the client acts for."),
    }
    message = messages.get(error.code)
    return message() if message else _("This action is not allowed.")
