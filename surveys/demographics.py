"""From the optional "about you" answers to the columns used for raking.

Given only with consent; finer answers (Mường, Dao…) are grouped as the census margins are,
and "prefer not to say" is stored as unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webapp.models.collection import AGE_BANDS, ETHNICITY_GROUPS, GENDERS

#: Kinds of unit people live in, and whether they count as urban.
RESIDENCE_KINDS = {"commune": "rural", "ward": "urban", "township": "urban"}


def demographic_columns(answers: Mapping[str, Any], residence: tuple[int, str] | None) -> dict[str, Any]:
    """The response columns for ``answers``; ``residence`` is the (unit id, kind) answered, if any."""
    consent = answers.get("consent_demographics") == "yes"
    if not consent:
        return {
            "consent_demographics": False,
            "gender": None,
            "age_band": None,
            "ethnicity_group": None,
            "residence_area": None,
            "residence_unit_id": None,
        }
    gender = answers.get("gender")
    age_band = answers.get("age_band")
    ethnicity = answers.get("ethnicity")
    return {
        "consent_demographics": True,
        "gender": gender if gender in GENDERS else None,
        "age_band": age_band if age_band in AGE_BANDS else None,
        "ethnicity_group": (ethnicity if ethnicity in ETHNICITY_GROUPS else "other")
        if ethnicity and ethnicity != "prefer_not_to_say"
        else None,
        "residence_area": RESIDENCE_KINDS.get(residence[1]) if residence else None,
        "residence_unit_id": residence[0] if residence else None,
    }
