"""Plain-language messages for submission errors, in the respondent's language."""

from __future__ import annotations

from flask_babel import gettext as _

from surveys.submission import FieldError


def describe(error: FieldError) -> str:
    """What went wrong with ``error.field`` and what to do, in the current locale."""
    code, params = error.code, error.params
    messages = {
        "required": _("Answer this question."),
        "missing": _("This field is required."),
        "unknown_item": _("This question is not part of the survey."),
        "unknown_field": _("This field is not accepted."),
        "invalid_type": _("This answer has the wrong form."),
        "invalid_choice": _("Choose one of the answers offered."),
        "duplicate_choice": _("Choose each answer only once."),
        "too_many_choices": _("You chose too many answers."),
        "too_long": _("This text is too long. Shorten it to %(max)s characters.", max=params.get("max", "")),
        "control_characters": _(
            "This text holds invisible control characters. Type it again, or paste it as plain text."
        ),
        "consent_required": _("These questions are only asked if you agree to answer them."),
        "not_asked": _("This question was not among those chosen for you: leave it out."),
        "unknown_instrument": _("This survey does not exist or is no longer used."),
        "unknown_unit": _("This office is not in the list of units."),
        "unit_not_valid_then": _("This office did not exist on the date of the answer."),
        "unknown_service": _("This service is not in the list of services."),
        "not_offered": _("This office does not offer this service."),
        "service_not_valid_then": _(
            "This service group did not exist on the date of the answer: its procedures belong to another group now."
        ),
        "not_this_device": _("This kiosk belongs to another office."),
        "not_this_service": _("This receipt code is for another office or service."),
        "not_for_instrument": _("This survey cannot be answered through this channel."),
        "not_for_service": _("This survey is not the one for this service."),
        "device_required": _("Ratings from a counter kiosk need the kiosk's key."),
        "device_refused": _(
            "This kiosk is not registered or has been switched off. Ask the office to set it up again."
        ),
        "timezone_required": _("Give the time with its time zone, for example 2026-07-01T09:30:00+07:00."),
        "in_future": _("The time of the answer is in the future. Check the device's clock."),
        "too_old": _("This answer is more than %(days)s days old and cannot be accepted.", days=params.get("days", "")),
        "out_of_range": _("This number is outside the accepted range."),
        "already_used": _("This receipt code has already been used to give a rating."),
        "invalid_uuid": _("This must be an identifier in UUID form."),
        "invalid_json": _("The request body must be a JSON object."),
        "invalid_date": _("Give the date and time in ISO 8601 form, for example 2026-07-01T09:30:00+07:00."),
        "honeypot": _("The form could not be sent. Please try again."),
        "invalid_batch": _("The body must be a JSON object whose field responses is a list of responses."),
        "too_many_items": _(
            "Send at most %(max)s responses in one batch; this one has %(count)s. Split it into smaller batches.",
            max=params.get("max", ""),
            count=params.get("count", ""),
        ),
        "too_large": _(
            "The request is larger than %(max)s KB. Send fewer responses at a time.", max=params.get("max", "")
        ),
    }
    return messages.get(code, _("This answer is not valid."))
