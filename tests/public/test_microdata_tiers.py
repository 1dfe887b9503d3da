"""Microdata in two tiers (issue #13, findings 2 and 10) on a small published demo.

The public file labels only domains whose rate is published, publishes no combination of
quasi-identifiers holding fewer than 5 rows, and still lets R reproduce every published
estimate and SE of every indicator, for a quarter and a half-year. The restricted file has
the full detail and is served to administrators only, with a stated purpose, audited.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
from collections import Counter, defaultdict

import pytest
from sqlalchemy import select

from tests.conftest import csrf_from, empty_all_tables, require_rscript
from tests.webapp.published_demo import seed_and_publish
from webapp.publishing.microdata import NOT_IN_MICRODATA

PERIODS = ["2026-Q3", "2026-H1"]
INDICATORS = ["sat-procedures", "sat-agencies", "sat-health", "sat-education"]
QUASI = ("unit", "service", "channel", "respondent_type", "district", "commune")


@pytest.fixture(scope="module")
def small_demo(app):
    from webapp.extensions import db

    with app.app_context():
        seed_and_publish(responses=6_000, seed=13, first_quarter="2026-Q1", periods=PERIODS)
        db.session.remove()
        yield db
        db.session.remove()
        empty_all_tables(db)


def _published(db, period, indicator):
    from webapp.models import PublishedEstimate, PublishedSnapshot
    from webapp.publishing.publish import current_snapshot

    snapshot = current_snapshot(period)
    assert isinstance(snapshot, PublishedSnapshot)
    rows = db.session.scalars(
        select(PublishedEstimate).where(
            PublishedEstimate.snapshot_id == snapshot.id, PublishedEstimate.metric == indicator
        )
    ).all()
    # The module's session must not stay inside a transaction: on PostgreSQL its locks would make
    # the next test's TRUNCATE wait for ever.
    db.session.close()
    return rows


def _export(runner, tmp_path, period, indicator, *extra):
    path = tmp_path / f"{indicator}-{period}.csv"
    result = runner.invoke(args=["export", "microdata", period, "--indicator", indicator, "-o", str(path), *extra])
    assert result.exit_code == 0, result.output
    return path


@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("indicator", INDICATORS)
def test_finding_10_r_reproduces_every_published_number_of_every_indicator(
    small_demo, app, tmp_path, period, indicator
):
    require_rscript()
    path = _export(app.test_cli_runner(), tmp_path, period, indicator)
    run = subprocess.run(
        ["Rscript", str(path.with_suffix(".R")), str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "LANG": "C.UTF-8"},
    )
    assert run.returncode == 0, run.stderr
    r_rows = {(row["domain_type"], row["domain"]): row for row in csv.DictReader(run.stdout.splitlines())}
    assert r_rows, "R printed no estimate"
    compared = 0
    for row in _published(small_demo, period, indicator):
        if row.domain_type in NOT_IN_MICRODATA:
            assert not any(domain_type == row.domain_type for domain_type, _ in r_rows)
            continue
        if row.estimate is None:
            assert (row.domain_type, row.domain) not in r_rows or row.domain_type == "province"
            continue
        mine = r_rows[(row.domain_type, row.domain)]
        assert float(mine["estimate"]) == pytest.approx(row.estimate, rel=1e-9, abs=1e-12)
        assert float(mine["se"]) == pytest.approx(row.se, rel=1e-9, abs=1e-12)
        compared += 1
    assert compared >= 1


@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("indicator", INDICATORS)
def test_finding_02_public_file_labels_only_published_rates_and_no_rare_combination(small_demo, app, period, indicator):
    from webapp.publishing.microdata import public_rows

    with app.app_context():
        rows = public_rows(period, indicator)
        published = {
            (r.domain_type, r.domain) for r in _published(small_demo, period, indicator) if r.estimate is not None
        }
    labelled = {(r["domain_type"], r["domain"]) for r in rows if r["domain"]}
    assert labelled <= published, f"labels a domain whose rate is not published: {sorted(labelled - published)[:5]}"
    assert not {"response_id", "quarter", "cell_total", "comment", "gender", "age_band"} & set(rows[0] if rows else {})
    # Every labelled combination of quasi-identifiers on a row holds at least 5 rows.
    combinations = Counter(
        tuple((r["domain_type"], r["domain"]) if r["domain_type"] in QUASI else ("", "") for _ in (0,))
        for r in rows
        if r["domain"] and r["domain_type"] in QUASI
    )
    # The small demo labels no quasi-identifier for some indicators (sat-education in 2026-Q3).
    assert all(count >= 5 for count in combinations.values())  # may be empty: no labelled quasi-identifier
    # Each block is the whole design once: the same number of rows and the same weight total.
    blocks = defaultdict(list)
    for r in rows:
        blocks[r["domain_type"]].append(float(r["weight"]))
    sizes = {len(v) for v in blocks.values()}
    assert len(sizes) <= 1 and len({round(sum(v), 6) for v in blocks.values()}) <= 1


def test_finding_02_the_old_layout_is_gone_from_the_download(small_demo, app, tmp_path, monkeypatch):
    """The open data download: no response id, at most one quasi-identifier per row, notes in the script."""
    from webapp.extensions import limiter

    monkeypatch.setitem(app.config, "MICRODATA_CACHE_DIR", str(tmp_path / "cache"))
    limiter.reset()
    client = app.test_client()
    response = client.get("/data/2026-Q3/microdata/sat-agencies.csv")
    assert response.status_code == 200
    header = next(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert header == ["domain_type", "domain", "cell", "weight", "satisfied"]
    script = client.get("/data/2026-Q3/microdata/sat-agencies.R").get_data(as_text=True)
    assert "Disclosure control" in script and "one domain only" in script
    page = client.get("/data?lang=en").get_data(as_text=True)
    assert "one domain per row" in page


def test_restricted_file_needs_a_purpose_and_is_audited(small_demo, app, tmp_path):
    from webapp.models import AuditEvent

    runner = app.test_cli_runner()
    refused = runner.invoke(
        args=[
            "export",
            "microdata",
            "2026-Q3",
            "--indicator",
            "sat-health",
            "-o",
            str(tmp_path / "r.csv"),
            "--tier",
            "restricted",
        ]
    )
    assert refused.exit_code != 0 and "purpose" in refused.output
    path = _export(
        runner,
        tmp_path,
        "2026-Q3",
        "sat-health",
        "--tier",
        "restricted",
        "--purpose",
        "Dr. Lò Văn A, Hanoi Medical University, agreement 12/2026",
    )
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert rows and {"response_id", "quarter", "cell_total", "unit", "service", "channel"} <= set(rows[0])
    assert all(r["unit"] for r in rows), "the restricted file labels every unit"
    with app.app_context():
        event = small_demo.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "microdata.restricted_export").order_by(AuditEvent.id.desc())
        ).first()
        assert event.actor == "cli" and "agreement 12/2026" in event.detail
    require_rscript()
    run = subprocess.run(
        ["Rscript", str(path.with_suffix(".R")), str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "LANG": "C.UTF-8"},
    )
    assert run.returncode == 0, run.stderr


def test_restricted_download_is_for_admins_only_with_csrf_purpose_and_audit(small_demo, app, make_user, sign_in):
    from webapp.extensions import limiter
    from webapp.models import AuditEvent

    limiter.reset()
    for role in ("viewer", "agency_manager"):
        client = sign_in(make_user(role, "sl-ttpvhcc", email=f"{role}-md@sonla.gov.vn"), app.test_client())
        assert client.get("/admin/microdata").status_code == 403
        refused = client.post("/admin/microdata", data={"period": "2026-Q3", "indicator": "sat-health"})
        assert refused.status_code in (400, 403) and refused.mimetype != "text/csv"  # CSRF or role: refused
    assert app.test_client().get("/admin/microdata").status_code in (302, 303)
    admin = sign_in(make_user("admin", None, email="admin-md@sonla.gov.vn"), app.test_client())
    page = admin.get("/admin/microdata?lang=en")
    assert page.status_code == 200
    token = csrf_from(page)
    form = {"period": "2026-Q3", "indicator": "sat-health"}
    assert admin.post("/admin/microdata", data=form).status_code == 400, "no CSRF token"
    short = admin.post("/admin/microdata?lang=en", data={**form, "csrf_token": token, "purpose": "research"})
    assert short.status_code == 400 and "approved researcher" in short.get_data(as_text=True)
    bad = admin.post(
        "/admin/microdata?lang=en",
        data={**form, "period": "1999-Q1", "csrf_token": token, "purpose": "Dr. Lò Văn A, agreement 12/2026"},
    )
    assert bad.status_code == 400
    answer = admin.post(
        "/admin/microdata",
        data={**form, "csrf_token": token, "purpose": "Dr. Lò Văn A, agreement 12/2026, hospital study"},
    )
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert (
        "attachment" in answer.headers["Content-Disposition"] and "restricted" in answer.headers["Content-Disposition"]
    )
    assert "no-store" in answer.headers["Cache-Control"]
    assert answer.get_data(as_text=True).startswith("response_id,")
    with app.app_context():
        event = small_demo.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "microdata.restricted_export").order_by(AuditEvent.id.desc())
        ).first()
        assert event.actor == "admin-md@sonla.gov.vn" and "hospital study" in event.detail
