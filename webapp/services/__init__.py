"""Domain services: the rules the web pages, the CLI and the tests share.

A view parses its form, calls one service function and renders the result; the CLI does the
same. A refused action raises :class:`ServiceError` with a code and its parameters and writes
nothing; :func:`describe` turns it into a sentence in the current language (the web shows it
with ``error.status``, the CLI prints it in English and exits non-zero).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _

if TYPE_CHECKING:
    from webapp.models import User


def actor_name(actor: User | None) -> str:
    """How the audit log names who acted: the user's e-mail, or ``cli`` for the server's operator."""
    return actor.email if actor is not None else "cli"


class ServiceError(Exception):
    """A refused action: ``code`` names the rule, ``params`` fill its message; nothing was written."""

    #: HTTP status the web answers with, by code (409 unless listed): bad input is 400.
    STATUS = {
        "empty_counter": 400,
        "counter_too_long": 400,
        "label_too_long": 400,
        "no_case_numbers": 400,
        "case_too_long": 400,
        "case_not_printable": 400,
        "too_many_cases": 400,
        "service_not_offered": 400,
        "target_year_taken": 400,
    }

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = params
        super().__init__(f"{code}: {params}" if params else code)

    @property
    def status(self) -> int:
        return self.STATUS.get(self.code, 409)


def describe(error: ServiceError) -> str:
    """What was refused and what to do, in the current locale."""
    p = error.params
    messages = {
        "receipt_already_used": lambda: _(
            "This receipt code was already used to give a rating, so it cannot be revoked."
        ),
        # devices and counters
        "empty_counter": lambda: _("Enter the name of the counter, for example Quầy 1."),
        "counter_too_long": lambda: _("Write the counter's name in %(count)s characters or fewer.", count=p["max"]),
        "label_too_long": lambda: _("Write the label in %(count)s characters or fewer.", count=p["max"]),
        "counter_closed": lambda: _(
            "The counter “%(name)s” is closed: a tablet there could not take ratings. Choose an open counter.",
            name=p["counter"],
        ),
        "unit_not_valid": lambda: _(
            "The unit %(unit)s no longer exists (it ended on %(date)s): add tablets at the unit that replaced it.",
            unit=p["unit"],
            date=p["valid_to"],
        ),
        "unit_without_counter_services": lambda: _(
            "The unit %(unit)s offers no service the counter tablet asks about, so a tablet there could not take"
            " ratings.",
            unit=p["unit"],
        ),
        "counter_device_cap": lambda: _(
            "The counter “%(name)s” already has %(count)s tablets in use or waiting for approval, the most allowed."
            " Revoke one first.",
            name=p["counter"],
            count=p["limit"],
        ),
        "unit_device_cap": lambda: _(
            "The unit already has %(count)s tablets in use or waiting for approval, the most allowed. Revoke one"
            " first, or ask Sở Nội vụ.",
            count=p["limit"],
        ),
        "device_revoked": lambda: _("Tablet %(id)s was revoked or rejected: it cannot be approved.", id=p["device"]),
        # receipt codes
        "service_not_offered": lambda: _("Choose the service the dossiers are for."),
        "no_case_numbers": lambda: _("Enter at least one case number, one per line."),
        "case_too_long": lambda: _(
            "Line %(line)s: a case number has at most %(count)s characters.", line=p["line"], count=p["max"]
        ),
        "case_not_printable": lambda: _(
            "Line %(line)s: the case number has characters that cannot be printed.", line=p["line"]
        ),
        "too_many_cases": lambda: _("Print at most %(count)s receipts at a time.", count=p["max"]),
        "spent_codes": lambda: _(
            "These case numbers already have a code that was revoked, used or has expired, so a new receipt would"
            " not work: %(cases)s. Remove them from the list.",
            cases=", ".join(p["cases"]),
        ),
        "no_dossier_counts": lambda: _(
            "No dossier counts are imported for this service at this unit, so no receipt code can be issued."
            " Import this service's dossier counts first, or ask Sở Nội vụ to import them."
        ),
        "over_allowance": lambda: _(
            "Only %(remaining)s more receipt codes can be issued for this service in %(quarter)s: the unit handled"
            " %(limit)s dossiers (%(source)s) and %(used)s codes are already issued. You asked for %(asked)s.",
            remaining=p["remaining"],
            quarter=p["quarter"],
            limit=p["limit"],
            source=p["source"],
            used=p["used"],
            asked=p["asked"],
        ),
        # indicator targets
        "target_year_taken": lambda: _(
            "This indicator already has a target for %(year)s: change that one", year=p["year"]
        ),
    }
    message = messages.get(error.code)
    return message() if message else _("This action is not allowed.")
