"""Who may use which blueprint: every blueprint declares its access rule.

``tests/webapp/test_route_access.py`` walks every registered route and fails on one whose
blueprint declares no rule, so a new page cannot be exposed by accident. The agency and
admin areas attach their checks with ``before_request`` when they declare themselves.
"""

from __future__ import annotations

from flask import Blueprint

#: Anyone may read; nothing personal is shown.
PUBLIC = "public"
#: Anyone may submit a rating; protected by CSRF, rate limits and validation, not by sign-in.
RESPONDENT = "respondent"
#: A registered kiosk, identified by its device key.
DEVICE = "device"
#: Anyone, but only with a valid single-use receipt token.
TOKEN_HOLDER = "token_holder"  # noqa: S105 (a rule name, not a secret)
RULES = (PUBLIC, RESPONDENT, DEVICE, TOKEN_HOLDER)


def declare_access(blueprint: Blueprint, rule: str) -> Blueprint:
    """Record ``rule`` on ``blueprint`` (and refuse an unknown rule)."""
    if rule not in RULES:
        raise ValueError(f"unknown access rule {rule!r}; use one of {RULES}")
    blueprint.access_rule = rule  # type: ignore[attr-defined]
    return blueprint
