"""The forms of the action plans (Flask-WTF: every POST carries a CSRF token).

They only carry the values: the rules (known subject, texts given and short enough, due date
after the baseline's start, an outcome for "done") are checked by :mod:`webapp.insights.actions`,
so the pages and the demo share them.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField


class ActionPlanForm(FlaskForm):
    #: ``aspect:<indicator>:<aspect>`` or ``theme:<code>`` (choices set by the view).
    subject = SelectField(validate_choice=False)
    said = TextAreaField()
    action = TextAreaField()
    responsible = StringField()
    #: ``YYYY-MM-DD`` (an ``<input type="date">``).
    due_on = StringField()
    baseline_period = SelectField(validate_choice=False)


class ActionUpdateForm(FlaskForm):
    status = SelectField(validate_choice=False)
    note = TextAreaField()
    outcome = TextAreaField()
