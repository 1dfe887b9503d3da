"""Every role × every route: who gets in, who is sent to sign in, who is refused.

The expected answer comes from the access rule each blueprint declares (webapp/access.py):
anonymous visitors of a staff area are sent to the sign-in page, a signed-in user whose role
the area does not allow gets 403, and viewers get 403 on anything that changes data. The
test builds a URL for every registered route, so a new route is checked the day it is added.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import valid_csrf_token
from webapp.access import SIGN_IN, STAFF

#: Values for the URL variables of the routes (real codes from the registry where it matters).
SAMPLE_VALUES = {
    "code": "sl-ttpvhcc",
    "unit_code": "sl-ttpvhcc",
    "period": "2025-Q4",
    "indicator": "sat-agencies",
    "indicator_code": "sat-agencies",
    "instrument_code": "counter-quick",
}
#: The roles whose rights are checked; the scoped ones are given the one-stop centre.
ROLES = ("anonymous", "viewer", "interviewer", "agency_manager", "admin")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _value(name: str, converter: str) -> str | int:
    if converter in ("IntegerConverter",):
        return 1
    return SAMPLE_VALUES.get(name, "x")


def routes(app):
    """``(rule, method, url, blueprint)`` for every route of a blueprint and each of its methods."""
    found = []
    for rule in app.url_map.iter_rules():
        if "." not in rule.endpoint:
            continue
        blueprint = app.blueprints[rule.endpoint.rsplit(".", 1)[0]]
        values = {name: _value(name, type(conv).__name__) for name, conv in rule._converters.items()}
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule, method, url, blueprint))
    return found


def staff_routes(app):
    return [route for route in routes(app) if getattr(route[3], "access_rule", None) == STAFF]


def test_staff_areas_exist_and_declare_their_roles(app):
    areas = {name: bp for name, bp in app.blueprints.items() if getattr(bp, "access_rule", None) == STAFF}
    assert set(areas) >= {"agency", "admin"}
    assert areas["admin"].allowed_roles == ("admin",)
    assert set(areas["agency"].allowed_roles) == {"admin", "agency_manager", "viewer"}


@pytest.fixture()
def as_role(app, make_user, sign_in):
    """A test client signed in with ``role`` (scoped roles to the one-stop centre), or anonymous."""
    from webapp.extensions import limiter

    def make(role: str):
        limiter.reset()
        http = app.test_client()
        # A bystander account takes the first id, so that the sample URLs (/…/1/…) act on it and
        # not on the signed-in user (an admin signing themselves out would end the walk).
        make_user("viewer", "sl-ttpvhcc", email="bystander@sonla.gov.vn")
        if role == "anonymous":
            return http
        user = make_user(role, None if role == "admin" else "sl-ttpvhcc")
        return sign_in(user, http)

    return make


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(app, as_role, role):
    http = as_role(role)
    token = valid_csrf_token(app, http)
    wrong = []
    for rule, method, url, blueprint in staff_routes(app):
        data = {"csrf_token": token} if method in WRITE_METHODS else None
        answer = http.open(url, method=method, data=data, headers={"Accept": "text/html"})
        location = answer.headers.get("Location", "")
        if role == "anonymous":
            ok = answer.status_code == 302 and "/auth/login" in location
            expected = "302 to sign-in"
        elif role not in blueprint.allowed_roles:
            ok = answer.status_code == 403
            expected = "403"
        elif role == "viewer" and method in WRITE_METHODS:
            ok = answer.status_code == 403
            expected = "403 (viewers only read)"
        else:
            ok = answer.status_code not in (401, 403) and "/auth/login" not in location and answer.status_code < 500
            expected = "allowed (no 401/403/sign-in, no 5xx)"
        if not ok:
            wrong.append(f"{method} {url} ({rule.endpoint}) as {role}: {answer.status_code}, expected {expected}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", ("anonymous", "viewer"))
def test_public_routes_never_ask_to_sign_in(app, as_role, role):
    http = as_role(role)
    wrong = []
    for rule, method, url, blueprint in routes(app):
        if getattr(blueprint, "access_rule", None) in (STAFF, SIGN_IN) or method != "GET":
            continue
        answer = http.get(url)
        if answer.status_code in (401, 403) or "/auth/login" in answer.headers.get("Location", ""):
            wrong.append(f"GET {url} ({rule.endpoint}) as {role}: {answer.status_code}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("path", ["/auth/account", "/auth/password", "/auth/two-factor"])
def test_account_pages_need_a_signed_in_user(client, db, path):
    answer = client.get(path)
    assert answer.status_code == 302 and "/auth/login" in answer.headers["Location"]


def test_sign_in_page_is_open_to_everyone(client, db):
    assert client.get("/auth/login").status_code == 200


#: Scopes follow the unit tree: ``(manager's unit, units they must reach, units they must not)``.
TREE_SCOPES = {
    "health department": (
        "sl-syt",
        ("bv-dk-tinh-sonla", "bv-phoi-sonla", "bv-dk-moc-chau", "ttyt-phu-yen", "ttyt-van-ho"),
        ("thpt-chuyen-sonla", "tyt-n03646", "sl-sgddt", "n03646"),
    ),
    "education department": (
        "sl-sgddt",
        ("thpt-chuyen-sonla", "thpt-moc-ha", "gdtx-bac-yen"),
        ("th-quyet-thang", "bv-dk-tinh-sonla"),
    ),
    "ward of Tô Hiệu": (
        "n03646",
        ("tyt-n03646", "th-quyet-thang", "thcs-chieng-le", "ttpv-n03646"),
        ("tyt-n03688", "ttpv-n03688", "bv-dk-tinh-sonla", "thpt-to-hieu"),
    ),
}


@pytest.mark.parametrize("scope", TREE_SCOPES)
@pytest.mark.parametrize("role", ("agency_manager", "viewer"))
def test_scopes_follow_the_unit_tree(make_user, sign_in, scope, role):
    from tests.pages import check_page
    from webapp.access import unit_in_scope
    from webapp.extensions import db
    from webapp.models import Unit

    root, reached, hidden = TREE_SCOPES[scope]
    assert reached and hidden
    user = make_user(role, root)
    http = sign_in(user)
    for code in reached:
        assert unit_in_scope(db.session.scalar(select(Unit).where(Unit.code == code)), user), code
        assert http.get(f"/agency/units/{code}").status_code == 200, code
    for code in hidden:
        assert http.get(f"/agency/units/{code}").status_code == 404, code
    # The home page's picker lists the units directly under the manager's unit.
    links = {a["href"] for a in check_page(http.get("/agency/")).select("main a")}
    children = db.session.scalars(select(Unit).where(Unit.parent.has(Unit.code == root))).all()
    assert {f"/agency/units/{child.code}" for child in children} <= links


def test_health_department_manager_sees_every_hospital_and_health_centre(make_user, sign_in):
    from tests.pages import check_page
    from webapp.extensions import db
    from webapp.models import Unit

    http = sign_in(make_user("agency_manager", "sl-syt"))
    links = {a["href"] for a in check_page(http.get("/agency/")).select("main a")}
    health = db.session.scalars(select(Unit.code).where(Unit.kind.in_(("hospital", "health_centre")))).all()
    assert len(health) >= 19
    assert {f"/agency/units/{code}" for code in health} <= links
