"""The agency area's forms (Flask-WTF: every POST carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from webapp.agency.moderation import MAX_COMMENT, MAX_REASON, MAX_REPLY
from webapp.forms import ConfirmForm  # noqa: F401  (shared; imported from here by the views)


class HideForm(FlaskForm):
    reason = StringField(
        validators=[
            DataRequired(_l("Say why the comment is hidden.")),
            Length(max=MAX_REASON, message=_l("Write the reason in %(count)s characters or fewer.", count=MAX_REASON)),
        ]
    )


class EditForm(FlaskForm):
    text = TextAreaField(
        validators=[
            Optional(),
            Length(max=MAX_COMMENT, message=_l("Write the text in %(count)s characters or fewer.", count=MAX_COMMENT)),
        ]
    )


class ReplyForm(FlaskForm):
    reply = TextAreaField(
        validators=[
            DataRequired(_l("Write your answer.")),
            Length(max=MAX_REPLY, message=_l("Write the answer in %(count)s characters or fewer.", count=MAX_REPLY)),
        ]
    )


class DeviceForm(FlaskForm):
    counter = StringField(
        validators=[
            DataRequired(_l("Enter the name of the counter, for example Quầy 1.")),
            Length(max=100, message=_l("Write the counter's name in 100 characters or fewer.")),
        ]
    )
    label = StringField(
        validators=[Optional(), Length(max=100, message=_l("Write the label in 100 characters or fewer."))]
    )


class ReceiptBatchForm(FlaskForm):
    service = SelectField(validate_choice=False)
    cases = TextAreaField(validators=[DataRequired(_l("Enter at least one case number, one per line."))])
