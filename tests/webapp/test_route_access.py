"""Every route belongs to a blueprint that declares who may use it."""

from __future__ import annotations

from webapp.access import RULES

#: Endpoints outside blueprints: Flask's own static files only.
UNGUARDED = {"static"}


def test_every_route_has_an_access_rule(app):
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in UNGUARDED:
            continue
        blueprint_name = rule.endpoint.rsplit(".", 1)[0] if "." in rule.endpoint else None
        blueprint = app.blueprints.get(blueprint_name) if blueprint_name else None
        if blueprint is None or getattr(blueprint, "access_rule", None) not in RULES:
            missing.append(f"{rule.rule} ({rule.endpoint})")
    assert not missing, f"routes without an access rule: {missing}"
