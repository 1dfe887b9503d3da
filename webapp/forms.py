"""Forms shared by the signed-in areas."""

from __future__ import annotations

from flask_wtf import FlaskForm


class ConfirmForm(FlaskForm):
    """Only the CSRF token: buttons that do one thing (sign out, publish, revoke, disable…)."""
