"""Load the registry, the instruments and the indicators into the database in one transaction."""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy import select

from surveys import definitions
from surveys.registry_cache import clear as clear_registry_cache
from webapp.audit import record_event
from webapp.extensions import db
from webapp.imports.margins import load_margins
from webapp.imports.tables import ImportRejected
from webapp.models import Indicator, IndicatorTarget, Instrument
from webapp.registry.loader import LoadReport, RegistryError, load_registry, read_registry


def _sync_instruments(report: LoadReport) -> None:
    """Insert instrument versions not yet stored; refuse a stored version whose content changed."""
    loaded = definitions.load_instruments()
    latest = {code: instrument.version for code, instrument in definitions.latest_instruments().items()}
    stored = {(row.code, row.version): row for row in db.session.scalars(select(Instrument))}
    for (code, version), instrument in sorted(loaded.items()):
        digest = definitions.content_hash(instrument)
        row = stored.get((code, version))
        if row is None:
            db.session.add(
                Instrument(
                    code=code,
                    version=version,
                    content_hash=digest,
                    snapshot=definitions.snapshot(instrument),
                    sector=instrument.sector,
                    active=version == latest[code],
                )
            )
            report.count(report.created, "instruments")
            continue
        if row.content_hash != digest:
            raise RegistryError(
                instrument.source_path or code,
                None,
                f"instrument {code} version {version} differs from the version already stored; "
                "responses refer to it, so give the changed questionnaire a new version number",
            )
    # Activating a newly loaded version deactivates the older ones of the same code.
    for (code, version), row in stored.items():
        should_be_active = version == latest.get(code, version)
        if row.active != should_be_active:
            row.active = should_be_active
            report.count(report.updated, "instruments")


def _sync_indicators(report: LoadReport) -> None:
    stored = {row.code: row for row in db.session.scalars(select(Indicator))}
    for code, indicator in definitions.load_indicators().items():
        values = {
            "name_vi": indicator.name.vi,
            "name_en": indicator.name.en,
            "description_vi": indicator.description.vi,
            "description_en": indicator.description.en,
            "kind": indicator.kind,
            "sector": indicator.sector,
            "plan_section": indicator.plan_section,
            "min_n": indicator.min_n,
            "min_n_show": indicator.min_n_show,
            "definition": {
                "instruments": [
                    {"instrument": link.instrument, "version": link.version, "item": link.item, "rule": link.rule}
                    for link in indicator.instruments
                ],
                "coverage": (
                    {
                        "unit_sectors": list(indicator.coverage.unit_sectors),
                        "min_valid_responses": indicator.coverage.min_valid_responses,
                        "period": indicator.coverage.period,
                    }
                    if indicator.coverage
                    else None
                ),
                "method": indicator.method,
                "scale": indicator.scale,
                "series_of": indicator.series_of,
                "subset_of": (
                    {"indicator": indicator.subset_of.indicator, "services": list(indicator.subset_of.services)}
                    if indicator.subset_of
                    else None
                ),
                "over": indicator.over,
                "statistic": indicator.statistic,
                "share": (
                    {"item": indicator.share.item, "values": list(indicator.share.values)} if indicator.share else None
                ),
            },
        }
        targets = [(t.year, t.value, t.comparison, t.source.vi, t.source.en) for t in indicator.targets]
        row = stored.get(code)
        if row is None:
            row = Indicator(code=code, **values)
            db.session.add(row)
            report.count(report.created, "indicators")
        else:
            changed = False
            for name, value in values.items():
                if getattr(row, name) != value:
                    setattr(row, name, value)
                    changed = True
            if changed:
                report.count(report.updated, "indicators")
        current = [(t.year, t.value, t.comparison, t.source_vi, t.source_en) for t in row.targets]
        if current != targets:
            row.targets = [
                IndicatorTarget(year=y, value=v, comparison=c, source_vi=s_vi, source_en=s_en)
                for y, v, c, s_vi, s_en in targets
            ]
            report.count(report.updated if current else report.created, "targets")


def _sync_margins(directory: Path, report: LoadReport) -> None:
    """The shipped census margins (dataset ``census-2019``), when the manifest lists them."""
    manifest = yaml.safe_load((directory / "manifest.yaml").read_text(encoding="utf-8"))
    entry = next((f for f in manifest.get("files", []) if f.get("file") == "margins_census_2019.csv"), None)
    if entry is None:
        return
    try:
        written = load_margins(
            directory / entry["file"], "census-2019", source=" ".join(str(entry.get("source", "")).split())
        )
    except ImportRejected as error:
        raise RegistryError(directory / entry["file"], None, str(error)) from None
    if written:
        report.count(report.created, "population margins")


def load_everything(directory: Path) -> LoadReport:
    """Validate every file first, then upsert registry, instruments and indicators and commit.

    Raises :class:`RegistryError` or :class:`surveys.definitions.DefinitionError` (both
    ``ValueError``) before writing anything when a file is wrong.
    """
    data = read_registry(directory)
    try:
        report = load_registry(db.session, data)
        _sync_instruments(report)
        _sync_indicators(report)
        _sync_margins(directory, report)
        if report.changed:
            record_event(
                "registry.load",
                actor="cli",
                detail=f"from {directory}",
                after={"created": report.created, "updated": report.updated},
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    clear_registry_cache()
    return report
