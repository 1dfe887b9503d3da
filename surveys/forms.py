"""The forms of the online survey: what each page asks, what was answered, what went wrong.

The questions come from the instrument, not from WTForms classes: an instrument version is
data, and one page of the survey is one of its sections. WTForms is used for what every
page has in common: the CSRF token and the honeypot field.

:func:`page_fields` turns a page's items into plain dictionaries that the form macros of
``webapp/templates/components/`` render; :func:`answer_error_message` turns a validation
problem into words that tell the respondent what to do.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import StringField

from surveys import definitions
from surveys.messages import describe
from surveys.submission import FieldError

#: Name of the field that people never see and bots fill in.
HONEYPOT_FIELD = "website"
#: Longest receipt code accepted in the "type your code" form (the code itself has 16 characters).
MAX_CODE_LENGTH = 40


class SurveyPageForm(FlaskForm):
    """What every survey page posts besides its answers: the CSRF token and the honeypot."""

    website = StringField(_l("Leave this empty"))

    @property
    def honeypot_filled(self) -> bool:
        """True when the hidden field was filled in: a robot, not a person."""
        return bool((self.website.data or "").strip())


class ReceiptCodeForm(FlaskForm):
    """The code printed on a paper receipt, for people who cannot scan its QR code.

    Sent with GET (nothing is changed by it), so it carries no CSRF token.
    """

    class Meta:
        csrf = False

    code = StringField(_l("Code on your receipt"))

    def cleaned_code(self) -> str:
        """The code as typed, keeping only letters, digits and dashes, cut to a sane length."""
        return re.sub(r"[^0-9A-Za-z-]", "", self.code.data or "")[:MAX_CODE_LENGTH]


# --------------------------------------------------------------------------------------
# Pages of a survey
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One page of the online survey: a section, or the demographic half of a section."""

    number: int
    section: definitions.Section
    items: tuple[definitions.Item, ...]
    #: The page of demographic questions, shown only after consent.
    demographic: bool = False
    #: The section's detail items this respondent was not asked (matrix sampling): not shown,
    #: and an answer posted to one is refused.
    left_out: tuple[definitions.Item, ...] = ()

    @property
    def item_codes(self) -> frozenset[str]:
        return frozenset(item.code for item in self.items)

    @property
    def checked_codes(self) -> frozenset[str]:
        """The items whose posted answers this page reads and checks: those asked and those left out."""
        return self.item_codes | {item.code for item in self.left_out}

    @property
    def asks_consent(self) -> bool:
        return definitions.CONSENT_ITEM in self.item_codes

    @property
    def needs_sources(self) -> bool:
        return any(item.source for item in self.items)


def survey_steps(
    instrument: definitions.Instrument, consent_given: bool, asked: Iterable[str] | None = None
) -> list[Step]:
    """The pages of ``instrument``, in order.

    A section with demographic items is split: its other questions (the consent question)
    on one page, the demographic questions on the next, which exists only when the
    respondent agreed. So consent gating needs no JavaScript. ``asked`` is the set of item
    codes drawn for this respondent (:func:`surveys.definitions.draw_asked_items`); the other
    items are left out of their page. None: everything is asked.
    """
    drawn = None if asked is None else frozenset(asked)
    steps: list[Step] = []
    for section in instrument.sections:
        shown = tuple(item for item in section.items if drawn is None or item.code in drawn)
        left_out = tuple(item for item in section.items if drawn is not None and item.code not in drawn)
        asked_here = tuple(item for item in shown if not item.demographic)
        personal = tuple(item for item in shown if item.demographic)
        if asked_here:
            steps.append(Step(len(steps) + 1, section, asked_here, left_out=left_out))
        if personal and consent_given:
            steps.append(Step(len(steps) + 1, section, personal, demographic=True))
    return steps


def read_page_answers(step: Step, formdata: MultiDict) -> dict[str, Any]:
    """The raw answers to ``step``'s questions in ``formdata`` (other fields are ignored).

    Answers to the section's questions left out by sampling are read too, for validation
    to refuse them (``not_asked``) rather than to drop them silently.

    Several values for a single-answer question are passed on as a list, which validation
    then refuses, rather than silently keeping one of them.
    """
    raw: dict[str, Any] = {}
    for item in step.items + step.left_out:
        values = formdata.getlist(item.code)
        if item.type == "multi_choice" or len(values) > 1:
            raw[item.code] = values
        elif values:
            raw[item.code] = values[0]
    return raw


# --------------------------------------------------------------------------------------
# Error messages
# --------------------------------------------------------------------------------------


def answer_error_message(item: definitions.Item, error: definitions.AnswerError) -> str:
    """What to do about ``error`` on ``item``, in the current language."""
    code, params = error.code, error.params
    if code == "required":
        if item.type == "multi_choice":
            return _("Choose at least one answer.")
        if item.type == "text":
            return _("Write your answer.")
        if item.source:
            return _("Choose your commune or ward from the list.")
        return _("Choose one answer.")
    if code == "invalid_choice" or (code == "invalid_type" and item.type != "text"):
        if item.type == "multi_choice":
            return _("Choose only among the answers offered.")
        return _("Choose one of the answers offered.")
    if code == "too_long":
        return _(
            "Shorten your text to %(max_length)s characters or fewer.",
            max_length=params.get("max_length", item.max_length),
        )
    if code == "too_many_choices":
        return _("Choose at most %(max_choices)s answers.", max_choices=params.get("max_choices", item.max_choices))
    if code == "not_asked":
        return _("This question was not among those chosen for you: leave it out.")
    return describe(FieldError(item.code, code, dict(params)))


# --------------------------------------------------------------------------------------
# From items to what the form macros render
# --------------------------------------------------------------------------------------

#: The five-point scale as people read it: from very satisfied down, "no opinion" set apart.
SCALE5_ORDER = (5, 4, 3, 2, 1, definitions.NO_OPINION)
_OPTIONAL_WORDS = ("optional", "không bắt buộc")


def field_id(code: str) -> str:
    """The id of an item's (first) control, which the error summary links to."""
    return f"field-{code}"


def _says_optional(item: definitions.Item, language: str) -> bool:
    texts = [item.text.get(language)] + ([item.help.get(language)] if item.help else [])
    return any(word in text.lower() for text in texts for word in _OPTIONAL_WORDS)


def _ordered_options(item: definitions.Item) -> list[definitions.Option]:
    if item.type == "scale5":
        by_value = {option.value: option for option in item.options}
        return [by_value[value] for value in SCALE5_ORDER if value in by_value]
    return list(item.options)


def _selected(value: Any) -> set[str]:
    if value is None:
        return set()
    if isinstance(value, (list, tuple)):
        return {str(v) for v in value}
    return {str(value)}


def page_fields(
    step: Step,
    values: Mapping[str, Any],
    errors: Mapping[str, str],
    language: str,
    residence_choices: Sequence[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """What the template needs to render each question of ``step``.

    ``values`` are the answers to show (saved, or just posted and refused); ``errors`` the
    message for each item code; ``residence_choices`` the option groups of the residence
    question (see :func:`residence_groups`).
    """
    fields = []
    for item in step.items:
        value = values.get(item.code)
        if value is None and item.default is not None:
            value = item.default
        chosen = _selected(value)
        label = item.text.get(language)
        field: dict[str, Any] = {
            "name": item.code,
            "id": field_id(item.code),
            "label": label,
            "hint": item.help.get(language) if item.help else None,
            "error": errors.get(item.code),
            "optional": not item.required and not _says_optional(item, language),
        }
        if item.type == "text":
            field.update(kind="textarea", value=value if isinstance(value, str) else "", max_length=item.max_length)
        elif item.source:
            field.update(kind="select", groups=_mark_selected(residence_choices, chosen), placeholder=_("Not chosen"))
        else:
            options = []
            for option in _ordered_options(item):
                options.append(
                    {
                        "value": str(option.value),
                        "text": option.label.get(language),
                        "checked": str(option.value) in chosen,
                        # "Not used / no opinion" is not a point of the scale: set it apart.
                        "divider": item.type == "scale5" and option.value == definitions.NO_OPINION,
                    }
                )
            field.update(kind="checkboxes" if item.type == "multi_choice" else "radios", options=options)
            if item.type == "scale5":
                field["classes"] = "choices--scale"
        fields.append(field)
    return fields


def residence_groups(units: Iterable[Any], language: str) -> list[dict[str, Any]]:
    """Communes and wards as option groups of a ``<select>`` (wards first, then communes)."""
    titles = {"ward": _("Wards"), "township": _("Townships"), "commune": _("Communes")}
    groups: dict[str, list[dict[str, Any]]] = {kind: [] for kind in titles}
    for unit in units:
        groups.setdefault(unit.kind, []).append({"value": unit.code, "text": unit.name(language)})
    return [
        {"label": titles.get(kind, kind), "options": sorted(options, key=lambda o: _sort_key(o["text"]))}
        for kind, options in groups.items()
        if options
    ]


def _sort_key(text: str) -> tuple[str, str]:
    """Alphabetical order as Vietnamese readers expect it, near enough: accents ignored first."""
    plain = "".join(
        c
        for c in unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
        if not unicodedata.combining(c)
    )
    return plain.casefold(), text


def _mark_selected(groups: Sequence[Mapping[str, Any]], chosen: set[str]) -> list[dict[str, Any]]:
    return [
        {
            "label": group["label"],
            "options": [{**option, "selected": option["value"] in chosen} for option in group["options"]],
        }
        for group in groups
    ]
