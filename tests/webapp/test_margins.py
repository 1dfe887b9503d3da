"""Census margins for raking: shipped with the registry, replaceable by newer ones."""

from __future__ import annotations

from sqlalchemy import func, select

from webapp.models import PopulationMargin


def test_registry_load_brings_the_2019_census_margins(runner, db):
    assert runner.invoke(args=["registry", "load"]).exit_code == 0
    rows = db.session.scalars(select(PopulationMargin).where(PopulationMargin.dataset == "census-2019")).all()
    assert rows
    totals = {}
    for row in rows:
        totals[row.variable] = totals.get(row.variable, 0) + row.total
    assert totals == {"gender": 1248415, "ethnicity_group": 1248415, "residence_area": 1248415}
    assert all(row.source for row in rows)


def test_newer_margins_are_loaded_and_checked(runner, db, tmp_path):
    good = tmp_path / "m.csv"
    good.write_text(
        "variable,category,total\ngender,male,10\ngender,female,10\nresidence_area,urban,5\nresidence_area,rural,15\n"
    )
    result = runner.invoke(args=["import", "margins", str(good), "--dataset", "survey-2029"])
    assert result.exit_code == 0, result.output
    again = runner.invoke(args=["import", "margins", str(good), "--dataset", "survey-2029"])
    assert "already up to date" in again.output
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "variable,category,total\ngender,male,10\ngender,female,10\nresidence_area,urban,5\nresidence_area,martian,1\n"
    )
    result = runner.invoke(args=["import", "margins", str(bad), "--dataset", "x"])
    assert result.exit_code == 1 and "line 5, column category" in result.output
    unequal = tmp_path / "unequal.csv"
    unequal.write_text(
        "variable,category,total\ngender,male,10\ngender,female,10\nresidence_area,urban,5\nresidence_area,rural,5\n"
    )
    result = runner.invoke(args=["import", "margins", str(unequal), "--dataset", "x"])
    assert result.exit_code == 1 and "one population" in result.output
    assert (
        db.session.scalar(select(func.count()).select_from(PopulationMargin).where(PopulationMargin.dataset == "x"))
        == 0
    )
