"""``/privacy/withdraw``: withdraw consent and delete one's "About you" answers with the receipt's code.

Works without JavaScript, in two steps, both POST (CSRF-protected, rate-limited like the
receipt-code form):

1. the person types the code printed on their receipt; a code that leads to no "About you"
   answers is refused with a message (4xx), and answers already deleted are said to be so;
2. a confirmation page (the code in a hidden field) asks before anything is deleted; sent, it
   calls :func:`webapp.services.privacy.withdraw_demographics`, which checks the code again.

Nothing about the response is ever shown: neither its answers nor its office or date.
"""

from __future__ import annotations

import re

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField

from surveys.forms import MAX_CODE_LENGTH
from surveys.survey_flow import POST_LIMIT
from webapp.access import TOKEN_HOLDER, declare_access
from webapp.extensions import db, limiter
from webapp.services.privacy import (
    PrivacyError,
    Withdrawal,
    describe_privacy_error,
    find_response_by_code,
    withdraw_demographics,
    withdrawal_needed,
)

privacy = declare_access(Blueprint("privacy", __name__, template_folder="templates"), TOKEN_HOLDER)

#: How the audit trail names the person who withdrew on the page (they are never identified).
SELF_SERVICE_ACTOR = "respondent"
SELF_SERVICE_REASON = "self-service: /privacy/withdraw"


class WithdrawForm(FlaskForm):
    """The receipt's code; ``confirm`` is "yes" on the confirmation step."""

    code = StringField(_l("Code on your receipt"))
    confirm = HiddenField()

    def cleaned_code(self) -> str:
        """The code as typed, keeping only letters, digits and dashes, cut to a sane length."""
        return re.sub(r"[^0-9A-Za-z-]", "", self.code.data or "")[:MAX_CODE_LENGTH]


@privacy.route("/privacy/withdraw", methods=["GET", "POST"])
@limiter.limit(POST_LIMIT, methods=["POST"])
def withdraw():
    """The code form; sent, the confirmation; confirmed, the deletion."""
    form = WithdrawForm(formdata=request.form if request.method == "POST" else None)
    if request.method == "GET":
        return render_template("privacy/withdraw.html", form=form, error=None)
    code = form.cleaned_code()
    try:
        response = find_response_by_code(code)
        if form.confirm.data != "yes":
            if not withdrawal_needed(response):
                return render_template("privacy/done.html", already=True)
            return render_template("privacy/confirm.html", form=form, code=code)
        outcome = withdraw_demographics(response, actor=SELF_SERVICE_ACTOR, reason=SELF_SERVICE_REASON)
        db.session.commit()
    except PrivacyError as error:
        db.session.rollback()
        form.code.data = code
        return render_template("privacy/withdraw.html", form=form, error=describe_privacy_error(error)), error.status
    return render_template("privacy/done.html", already=outcome is Withdrawal.ALREADY_WITHDRAWN)
