"""Who issues a report: the header block, number code, signer and recipients of the document.

The province's report is issued by the Department of Home Affairs (Sở Nội vụ) under the
Provincial People's Committee; a unit's report by the unit under its governing body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _

from webapp.models import Unit
from webapp.reports import labels

#: Units whose documents are issued by their People's Committee ("UBND xã …").
LOCAL_GOVERNMENTS = ("district", "commune", "ward", "township")
#: Words left out of an abbreviation ("Sở Lao động – Thương binh và Xã hội" → SLĐTBXH).
SMALL_WORDS = {"và", "của", "tỉnh", "huyện", "thành", "phố", "thị", "xã"}


@dataclass(frozen=True)
class Issuer:
    #: The governing body, upper case (not bold): "UBND TỈNH SƠN LA".
    governing: str
    #: The issuing body, upper case (bold): "SỞ NỘI VỤ".
    name_lines: tuple[str, ...]
    #: The document-type and issuer code after the number: "BC-SNV".
    number_code: str
    #: The issuer as named inside a sentence.
    in_sentence: str
    signer_title: str
    recipients: tuple[str, ...]


def abbreviation(name: str) -> str:
    """Initials of a Vietnamese unit name, as document numbers use them: "Sở Y tế" → "SYT"."""
    name = re.sub(r"\s+(tỉnh\s+)?Sơn La$", "", name.strip())
    words = [w for w in re.split(r"[\s,–-]+", name) if w and w[0].isalpha() and w.lower() not in SMALL_WORDS]
    return "".join(w[0].upper() for w in words)[:10] or "DV"


def _governing(unit: Unit) -> str:
    parent = unit.parent
    if parent is None or parent.kind == "province":
        return _("SƠN LA PROVINCIAL PEOPLE'S COMMITTEE")
    if parent.kind in LOCAL_GOVERNMENTS:
        return _("PEOPLE'S COMMITTEE OF %(name)s", name=parent.name(labels.language()).upper())
    return parent.name(labels.language()).upper()


def _signer(unit: Unit) -> str:
    if unit.kind in LOCAL_GOVERNMENTS:
        return _("ON BEHALF OF THE PEOPLE'S COMMITTEE\nCHAIRPERSON")
    if unit.kind == "school":
        return _("PRINCIPAL")
    return _("DIRECTOR")


def issuer_of(unit: Unit | None) -> Issuer:
    """The issuer of the report of ``unit`` (None: the province, issued by Sở Nội vụ)."""
    if unit is None:
        return Issuer(
            governing=_("SƠN LA PROVINCIAL PEOPLE'S COMMITTEE"),
            name_lines=(_("DEPARTMENT OF HOME AFFAIRS"),),
            number_code="BC-SNV",
            in_sentence=_("the Department of Home Affairs"),
            signer_title=_("DIRECTOR"),
            recipients=(
                _("Provincial People's Committee (to report);"),
                _("Departments, agencies and sectors of the province;"),
                _("People's Committees of communes and wards;"),
                _("Filed: Archives, Administrative Reform Office."),
            ),
        )
    name = unit.name(labels.language())
    if unit.kind in LOCAL_GOVERNMENTS:
        issuing = _("PEOPLE'S COMMITTEE OF %(name)s", name=name.upper())
        code = "BC-UBND"
        in_sentence = _("the People's Committee of %(name)s", name=name)
    else:
        issuing = name.upper()
        code = f"BC-{abbreviation(unit.name_vi)}"
        in_sentence = name
    return Issuer(
        governing=_governing(unit),
        name_lines=(issuing,),
        number_code=code,
        in_sentence=in_sentence,
        signer_title=_signer(unit),
        recipients=(
            _("Department of Home Affairs (to compile);"),
            _("Filed: Archives."),
        ),
    )
