"""The admin area's forms. Numbers and dates are read by our own validators so that every
message is ours, in the user's language (WTForms has no Vietnamese catalogue)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import Field, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from webapp.accounts import ROLE_NAMES
from webapp.forms import ConfirmForm  # noqa: F401  (shared; imported from here by the views)
from webapp.models import ROLES
from webapp.models.indicators import COMPARISONS

#: Largest file the import form accepts (the app refuses any request over MAX_CONTENT_LENGTH).
IMPORT_MAX_BYTES = 4 * 1024 * 1024


def parse_date(text: str | None) -> date | None:
    """``YYYY-MM-DD`` (what a date input sends) or ``DD/MM/YYYY`` (what people type), else ``None``."""
    text = (text or "").strip()
    try:
        if "/" in text:
            day, month, year = (int(part) for part in text.split("/"))
            return date(year, month, day)
        return date.fromisoformat(text)
    except (ValueError, OverflowError):
        return None


class IsDate:
    """The field holds a date; ``field.parsed`` is set to it."""

    def __init__(self, message) -> None:
        self.message = message

    def __call__(self, form: FlaskForm, field: Field) -> None:
        field.parsed = parse_date(field.data)
        if field.data and field.parsed is None:
            raise ValidationError(self.message)


class IsPercent:
    """A number from 0 to 100 (a comma is read as the decimal mark); ``field.share`` is it / 100."""

    def __call__(self, form: FlaskForm, field: Field) -> None:
        try:
            value = Decimal((field.data or "").strip().replace(",", ".").rstrip("%").strip())
        except InvalidOperation:
            raise ValidationError(_l("Enter a percentage from 0 to 100, for example 85 or 92,5")) from None
        if not value.is_finite() or not 0 <= value <= 100:
            raise ValidationError(_l("Enter a percentage from 0 to 100, for example 85 or 92,5"))
        field.share = float(value / 100)


class IsYear:
    def __call__(self, form: FlaskForm, field: Field) -> None:
        text = (field.data or "").strip()
        if not (text.isascii() and text.isdigit() and 2000 <= int(text) <= 2100):
            raise ValidationError(_l("Enter a year from 2000 to 2100"))


class UnitForm(FlaskForm):
    name_vi = StringField(
        validators=[
            DataRequired(_l("Enter the Vietnamese name")),
            Length(max=200, message=_l("Use at most 200 characters")),
        ]
    )
    name_en = StringField(
        validators=[
            DataRequired(_l("Enter the English name")),
            Length(max=200, message=_l("Use at most 200 characters")),
        ]
    )
    valid_from = StringField(
        validators=[
            DataRequired(_l("Enter the first day the unit existed")),
            IsDate(_l("Enter a date like 01/07/2025")),
        ]
    )
    valid_to = StringField(validators=[Optional(), IsDate(_l("Enter a date like 30/06/2025"))])

    def validate_valid_to(self, field: Field) -> None:
        start, end = getattr(self.valid_from, "parsed", None), getattr(field, "parsed", None)
        if start and end and end < start:
            raise ValidationError(_l("The last day cannot be before the first day"))


class ServiceForm(FlaskForm):
    name_vi = StringField(
        validators=[
            DataRequired(_l("Enter the Vietnamese name")),
            Length(max=200, message=_l("Use at most 200 characters")),
        ]
    )
    name_en = StringField(
        validators=[
            DataRequired(_l("Enter the English name")),
            Length(max=200, message=_l("Use at most 200 characters")),
        ]
    )


class CounterForm(FlaskForm):
    name = StringField(
        validators=[
            DataRequired(_l("Enter the counter's name")),
            Length(max=100, message=_l("Use at most 100 characters")),
        ]
    )


def comparison_choices() -> list[tuple[str, str]]:
    names = {"gt": _l("above the value"), "ge": _l("at least the value")}
    return [(code, names[code]) for code in COMPARISONS]


class TargetForm(FlaskForm):
    year = StringField(validators=[DataRequired(_l("Enter a year from 2000 to 2100")), IsYear()])
    value = StringField(
        validators=[DataRequired(_l("Enter a percentage from 0 to 100, for example 85 or 92,5")), IsPercent()]
    )
    comparison = SelectField(choices=comparison_choices, validate_choice=False)
    source_vi = StringField(validators=[Optional(), Length(max=500, message=_l("Use at most 500 characters"))])
    source_en = StringField(validators=[Optional(), Length(max=500, message=_l("Use at most 500 characters"))])

    def validate_comparison(self, field: Field) -> None:
        if field.data not in COMPARISONS:
            raise ValidationError(_l("Choose how the value is compared with the target"))


class PlanValueForm(FlaskForm):
    value = StringField(
        validators=[DataRequired(_l("Enter a percentage from 0 to 100, for example 85 or 92,5")), IsPercent()]
    )
    as_of = StringField(
        validators=[DataRequired(_l("Enter the date the value describes")), IsDate(_l("Enter a date like 31/12/2025"))]
    )
    source = StringField(
        validators=[
            DataRequired(_l("Say where the value comes from (a report and its date)")),
            Length(max=500, message=_l("Use at most 500 characters")),
        ]
    )
    note = TextAreaField(validators=[Optional(), Length(max=2000, message=_l("Use at most 2000 characters"))])


def role_choices() -> list[tuple[str, str]]:

    return [(role, ROLE_NAMES[role]) for role in ROLES]


class RoleForm(FlaskForm):
    role = SelectField(choices=role_choices, validate_choice=False)
    unit = StringField(validators=[Optional(), Length(max=40)])

    def validate_role(self, field: Field) -> None:
        if field.data not in ROLES:
            raise ValidationError(_l("Choose a role"))


class NewUserForm(RoleForm):
    email = StringField(
        validators=[
            DataRequired(_l("Enter the e-mail address")),
            Length(max=254, message=_l("Use at most 254 characters")),
            Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Enter an e-mail address like name@sonla.gov.vn")),
        ]
    )


class ImportForm(FlaskForm):
    file = FileField(validators=[FileRequired(_l("Choose a file to upload"))])


class MarginsImportForm(ImportForm):
    dataset = StringField(
        validators=[
            DataRequired(_l("Name the dataset, for example census-2029")),
            Regexp(
                r"^[a-z0-9][a-z0-9-]{0,59}$",
                message=_l("Use lower-case letters, digits and hyphens, for example census-2029"),
            ),
        ]
    )
    source = StringField(validators=[Optional(), Length(max=300, message=_l("Use at most 300 characters"))])


class PublishForm(FlaskForm):
    reason = TextAreaField(validators=[Optional(), Length(max=2000, message=_l("Use at most 2000 characters"))])
