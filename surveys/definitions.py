"""Survey instruments and indicators as data: load, validate, snapshot and score.

Instruments live in ``surveys/instruments/<code>.v<version>.yaml`` and indicators in
``surveys/indicators.yaml``. Both are checked twice: by a JSON Schema (Draft 2020-12,
``surveys/schema/``) for their shape, then by the semantic checks below (unique codes,
option sets, consent gating, no personal-data fields, indicator links). A broken file
raises :class:`DefinitionError` naming the file, the path inside it and the reason.

Which items feed an indicator is declared once, in the instruments (``indicators:``);
:func:`load_indicators` joins those declarations to ``indicators.yaml`` and checks that
both sides agree.

This module is pure: it imports only the standard library, PyYAML and jsonschema, so the
web application, the analysis CLI and tests can all use it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import yaml

from webapp.safe_text import has_control_characters

PACKAGE_DIR = Path(__file__).resolve().parent
INSTRUMENTS_DIR = PACKAGE_DIR / "instruments"
INDICATORS_PATH = PACKAGE_DIR / "indicators.yaml"
SCHEMA_DIR = PACKAGE_DIR / "schema"

LANGUAGES = ("vi", "en")
SECTORS = ("admin", "health", "education")
CHANNELS = ("kiosk", "online", "qr", "paper", "sms")
RESPONDENT_TYPES = ("citizen", "business")
ITEM_TYPES = ("scale5", "scale3", "choice", "multi_choice", "yes_no", "text")
RATING_TYPES = ("scale5", "scale3")
#: satisfaction: share of respondents satisfied on one item; share: share of respondents giving
#: some answers to a factual item (yes/no, choice); index: ratio over many answers of each
#: respondent (SIPAS-style index, Ministry of Health item-level rate and mean score);
#: coverage: share of units surveyed.
INDICATOR_KINDS = ("satisfaction", "share", "index", "coverage")
#: The official method an indicator follows: SIPAS (Ministry of Home Affairs), Ministry of
#: Health, Ministry of Education and Training, or the province's own plan (Decision 210, Resolution 76).
METHODS = ("sipas", "moh", "moe", "province")
#: What an ``index`` indicator is a ratio over.
INDEX_OVER = ("aspect_overall_items", "aspect_items")

#: Answer 0 on the five-point scale: "not used / no opinion", excluded from every rate.
NO_OPINION = 0
CONSENT_ITEM = "consent_demographics"
RESPONDENT_TYPE_ITEM = "respondent_type"
#: Longest value accepted for a choice whose options are supplied at run time (``source``).
MAX_SOURCE_VALUE_LENGTH = 64

__all__ = [
    "AnswerError",
    "Coverage",
    "DefinitionError",
    "Indicator",
    "IndicatorLink",
    "Instrument",
    "InstrumentLink",
    "Item",
    "LocalizedText",
    "Option",
    "Rule",
    "RULES",
    "Section",
    "Target",
    "all_items_satisfied",
    "apply_rule",
    "aspect_item_counts",
    "aspect_satisfied",
    "coerce_answers",
    "content_hash",
    "criterion_items",
    "draw_asked_items",
    "instrument_from_snapshot",
    "is_satisfied",
    "item_level_counts",
    "latest_instruments",
    "load_indicators",
    "load_instrument",
    "load_instruments",
    "rated_items",
    "sampled_items",
    "scored_indicator",
    "share_answers",
    "share_items",
    "snapshot",
    "set_pack_lookup",
    "targets_for",
    "text_context",
    "texts",
    "validate_answers",
]


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------


class DefinitionError(ValueError):
    """A definition file is broken. ``str()`` reads ``file[:line]: path: reason``."""

    def __init__(self, file: str | Path, path: str, reason: str, line: int | None = None):
        self.file = str(file)
        self.path = path or "<root>"
        self.reason = reason
        self.line = line
        where = f"{self.file}:{line}" if line else self.file
        super().__init__(f"{where}: {self.path}: {reason}")


@dataclass(frozen=True)
class AnswerError:
    """One problem with a submitted answer set.

    ``code`` is a short English key (``required``, ``unknown_item``, ``invalid_type``,
    ``invalid_choice``, ``duplicate_choice``, ``too_many_choices``, ``too_long``,
    ``control_characters``, ``consent_required``, ``not_asked``) that the web layer translates; ``params``
    fills the message.
    """

    item: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------
# Data classes
# --------------------------------------------------------------------------------------


#: Looks up a language pack's reviewed text: ``(key, language, Vietnamese text) -> text or None``.
#: Installed by ``webapp.languages`` (the pack store); without it every pack reads Vietnamese.
PackLookup = Callable[[str, str, str], "str | None"]
_pack_lookup: PackLookup | None = None


def set_pack_lookup(lookup: PackLookup | None) -> None:
    """Install the function :meth:`LocalizedText.get` asks for a language pack's texts."""
    global _pack_lookup
    _pack_lookup = lookup


@dataclass(frozen=True)
class LocalizedText:
    """A text in Vietnamese (first) and English, and in the language packs through :data:`_pack_lookup`.

    ``key`` says where the text sits (``onestop.v2:items.q1.text``; the translators' msgctxt). It is
    not content: it takes no part in equality, snapshots or hashes, so a pack never changes an
    instrument's version.
    """

    vi: str
    en: str
    key: str | None = field(default=None, compare=False)

    def get(self, language: str) -> str:
        """The text in ``language``: English, a pack's reviewed text, else Vietnamese."""
        if language == "en":
            return self.en
        if language == "vi" or self.key is None or _pack_lookup is None:
            return self.vi
        return _pack_lookup(self.key, language, self.vi) or self.vi

    def language_of(self, language: str) -> str:
        """The language :meth:`get` answers ``language`` in (``vi`` when a pack lacks the text)."""
        if language in ("vi", "en") or self.key is None or _pack_lookup is None:
            return "en" if language == "en" else "vi"
        return language if _pack_lookup(self.key, language, self.vi) else "vi"

    def as_dict(self) -> dict[str, str]:
        return {"vi": self.vi, "en": self.en}


@dataclass(frozen=True)
class Option:
    value: int | str
    label: LocalizedText
    pictogram: str | None = None


@dataclass(frozen=True)
class Item:
    code: str
    type: str
    text: LocalizedText
    required: bool
    options: tuple[Option, ...] = ()
    help: LocalizedText | None = None
    #: Options supplied at run time (``residence_units``) instead of ``options``.
    source: str | None = None
    default: str | None = None
    aspect_overall: bool = False
    #: Asked only after the respondent agreed to ``consent_demographics``.
    demographic: bool = False
    max_length: int | None = None
    max_choices: int | None = None

    @property
    def option_values(self) -> tuple[int | str, ...]:
        return tuple(option.value for option in self.options)

    @property
    def is_rating(self) -> bool:
        return self.type in RATING_TYPES


@dataclass(frozen=True)
class Section:
    """One page of the online survey. ``aspect`` sections are the instrument's aspects."""

    code: str
    title: LocalizedText
    items: tuple[Item, ...]
    help: LocalizedText | None = None
    aspect: bool = False
    #: Matrix sampling: each respondent is asked this many of the aspect's detail items
    #: (:func:`sampled_items`), drawn when the survey starts; None: all of them.
    sample: int | None = None

    @property
    def overall_item(self) -> Item | None:
        return next((item for item in self.items if item.aspect_overall), None)


@dataclass(frozen=True)
class IndicatorLink:
    """An instrument's declaration that ``item`` feeds ``indicator`` under ``rule``."""

    indicator: str
    item: str
    rule: str


@dataclass(frozen=True)
class Instrument:
    code: str
    version: int
    title: LocalizedText
    intro: LocalizedText
    sector: str
    channels: tuple[str, ...]
    respondent_types: tuple[str, ...]
    sections: tuple[Section, ...]
    indicators: tuple[IndicatorLink, ...]
    privacy_notice: LocalizedText | None = None
    #: Where it was read from; not part of the content (nor of the hash).
    source_path: Path | None = field(default=None, compare=False, repr=False)

    @functools.cached_property
    def items(self) -> tuple[Item, ...]:
        """All items in the order they are asked."""
        return tuple(item for section in self.sections for item in section.items)

    @functools.cached_property
    def _items_by_code(self) -> dict[str, Item]:
        return {item.code: item for item in self.items}

    def item(self, code: str) -> Item:
        """The item called ``code`` (``KeyError`` if there is none)."""
        return self._items_by_code[code]

    def has_item(self, code: str) -> bool:
        return code in self._items_by_code

    @property
    def aspects(self) -> tuple[Section, ...]:
        return tuple(section for section in self.sections if section.aspect)

    @property
    def demographic_items(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.demographic)

    def link(self, indicator_code: str) -> IndicatorLink:
        """How this instrument feeds ``indicator_code`` (``KeyError`` if it does not)."""
        for link in self.indicators:
            if link.indicator == indicator_code:
                return link
        raise KeyError(f"instrument {self.code} v{self.version} does not feed {indicator_code}")


@dataclass(frozen=True)
class Target:
    """A milestone: the indicator should be ``comparison`` ``value`` in ``year``."""

    year: int
    value: float
    comparison: str  # "gt" (strictly above) or "ge" (at least)
    source: LocalizedText

    def reached_by(self, estimate: float) -> bool:
        """Whether a point value reaches the target (interval logic lives in ``analysis``)."""
        return estimate > self.value if self.comparison == "gt" else estimate >= self.value


@dataclass(frozen=True)
class Coverage:
    """How a ``coverage`` indicator counts a unit as surveyed."""

    unit_sectors: tuple[str, ...]
    min_valid_responses: int
    period: str


@dataclass(frozen=True)
class Subset:
    """A sub-indicator: the answers of ``indicator`` about ``services`` only."""

    indicator: str
    services: tuple[str, ...]


@dataclass(frozen=True)
class ShareSource:
    """A ``share`` indicator's answers: ``item`` of any instrument of the sector; ``values`` count as 1."""

    item: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class InstrumentLink:
    """One instrument version, item and rule that feed an indicator (derived)."""

    instrument: str
    version: int
    item: str
    rule: str


@dataclass(frozen=True)
class Indicator:
    code: str
    name: LocalizedText
    description: LocalizedText
    kind: str  # one of INDICATOR_KINDS
    sector: str | None
    plan_section: str | None
    targets: tuple[Target, ...]
    min_n: int
    min_n_show: int
    coverage: Coverage | None = None
    #: Derived from the instruments' ``indicators:`` declarations.
    instruments: tuple[InstrumentLink, ...] = ()
    #: The official method it follows (``METHODS``).
    method: str = "province"
    #: Scale of the answers it counts (satisfaction): answers on another scale never pool with them.
    scale: str = "scale5"
    #: For the series of an older scale: the indicator whose links on that scale it takes over.
    series_of: str | None = None
    #: A sub-indicator: another indicator's answers, limited to these services.
    subset_of: Subset | None = None
    #: ``index``: which answers the ratio is over (``aspect_overall_items`` or ``aspect_items``).
    over: str | None = None
    #: ``index``: ``share`` (satisfied answers / rated answers) or ``mean`` (mean answer 1–5).
    statistic: str | None = None
    #: ``share``: the item and the answers that count as 1 (every instrument of the sector with that item).
    share: ShareSource | None = None


# --------------------------------------------------------------------------------------
# Satisfied rules and standard option sets
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """Which answers of which item type count as satisfied and which as not."""

    item_type: str
    satisfied: frozenset[int]
    not_satisfied: frozenset[int]


RULES: dict[str, Rule] = {
    # SIPAS and the Ministry of Health report the top two boxes (4 "satisfied",
    # 5 "very satisfied") of the five-point scale; 0 "no opinion" counts for neither side.
    "top_two_box": Rule("scale5", frozenset({4, 5}), frozenset({1, 2, 3})),
    # The counter quick rating: 3 very satisfied, 2 satisfied, 1 not satisfied.
    "counter_quick": Rule("scale3", frozenset({2, 3}), frozenset({1})),
}


def _text(vi: str, en: str) -> LocalizedText:
    return LocalizedText(vi=vi, en=en)


def _keyed_options(item_type: str, options: tuple[Option, ...]) -> tuple[Option, ...]:
    """A standard option set whose labels carry their shared keys (``standard:scale5.4``)."""
    return tuple(
        replace(option, label=replace(option.label, key=f"{STANDARD_CONTEXT}:{item_type}.{option.value}"))
        for option in options
    )


#: msgctxt prefix of the standard option labels, translated once for every instrument.
STANDARD_CONTEXT = "standard"


SCALE5_OPTIONS: tuple[Option, ...] = (
    Option(1, _text("Rất không hài lòng", "Very dissatisfied"), "face-very-unhappy"),
    Option(2, _text("Không hài lòng", "Dissatisfied"), "face-unhappy"),
    Option(3, _text("Bình thường", "Neutral"), "face-neutral"),
    Option(4, _text("Hài lòng", "Satisfied"), "face-happy"),
    Option(5, _text("Rất hài lòng", "Very satisfied"), "face-very-happy"),
    Option(NO_OPINION, _text("Không sử dụng / Không có ý kiến", "Not used / no opinion")),
)
SCALE3_OPTIONS: tuple[Option, ...] = (
    Option(3, _text("Rất hài lòng", "Very satisfied"), "face-very-happy"),
    Option(2, _text("Hài lòng", "Satisfied"), "face-happy"),
    Option(1, _text("Không hài lòng", "Not satisfied"), "face-unhappy"),
)
YES_NO_OPTIONS: tuple[Option, ...] = (
    Option("yes", _text("Có", "Yes")),
    Option("no", _text("Không", "No")),
)
SCALE5_OPTIONS, SCALE3_OPTIONS, YES_NO_OPTIONS = (
    _keyed_options("scale5", SCALE5_OPTIONS),
    _keyed_options("scale3", SCALE3_OPTIONS),
    _keyed_options("yes_no", YES_NO_OPTIONS),
)
_STANDARD_OPTIONS = {"scale5": SCALE5_OPTIONS, "scale3": SCALE3_OPTIONS, "yes_no": YES_NO_OPTIONS}


# --------------------------------------------------------------------------------------
# Personal data: no item may ask for it
# --------------------------------------------------------------------------------------

_PERSONAL_CODE = re.compile(
    r"name|phone|mail|cccd|cmnd|cmt|id_number|idnumber|id_card|passport|address|dia_chi"
    r"|sdt|so_dien_thoai|ho_ten|birth|tax_code|plate"
)
_PERSONAL_TEXT = re.compile(
    r"\b(?:họ\s+(?:và\s+)?tên|tên\s+của\s+(?:ông|bà|bạn|anh|chị)|số\s+điện\s+thoại|điện\s+thoại"
    r"|e-?mail|thư\s+điện\s+tử|địa\s+chỉ|cccd|cmnd|căn\s+cước|chứng\s+minh\s+nhân\s+dân|hộ\s+chiếu"
    r"|mã\s+số\s+thuế|ngày\s+sinh|your\s+name|full\s+name|(?:tele)?phone|address|id\s+number"
    r"|identity\s+card|citizen\s+id|passport|date\s+of\s+birth|tax\s+code)\b",
    re.IGNORECASE,
)


# --------------------------------------------------------------------------------------
# YAML reading
# --------------------------------------------------------------------------------------


# libyaml's parser when PyYAML was built with it (about ten times faster); the scalar
# resolution below is Python either way, so both read the files the same. The type checker
# sees the pure-Python SafeLoader: CSafeLoader has the same interface (get_single_node,
# construct_document, dispose, the implicit resolvers) and may be absent.
if TYPE_CHECKING:
    from yaml import SafeLoader as _BaseLoader
else:
    _BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):
    """Safe loader with YAML 1.2 scalars instead of YAML 1.1 surprises.

    ``no``, ``yes``, ``on`` and ``off`` stay strings (``no`` is an option value here),
    ``25_34`` stays a string (YAML 1.1 reads it as the integer 2534), dates stay strings.
    """


_REPLACED_TAGS = {"bool", "int", "float", "timestamp"}
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag.rsplit(":", 1)[-1] not in _REPLACED_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789"))
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."),
)


@dataclass
class _Source:
    """A parsed file: its data, and its node tree to find line numbers."""

    name: str
    data: Any
    root: yaml.Node | None = None

    def error(self, path: Iterable[str | int], reason: str) -> DefinitionError:
        parts = list(path)
        return DefinitionError(self.name, _format_path(parts), reason, self.line(parts))

    def line(self, parts: list[str | int]) -> int | None:
        node = self.root
        if node is None:
            return None
        for part in parts:
            child = None
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                        child = value
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                child = node.value[part]
            if child is None:
                break
            node = child
        return node.start_mark.line + 1


def _format_path(parts: Iterable[str | int]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _read_yaml(path: Path) -> _Source:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionError(name, "", f"cannot read the file ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise DefinitionError(name, "", "the file is not UTF-8") from exc
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise DefinitionError(name, "", "the file is empty")
        _check_duplicate_keys(root, name, [])
        data = loader.construct_document(root)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise DefinitionError(name, "", f"not valid YAML: {problem}", line) from exc
    finally:
        loader.dispose()
    return _Source(name, data, root)


def _check_duplicate_keys(node: yaml.Node, name: str, path: list[str | int]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            key_text = key.value if isinstance(key, yaml.ScalarNode) else repr(key)
            if key_text in seen:
                raise DefinitionError(
                    name,
                    _format_path([*path, key_text]),
                    "duplicate key",
                    key.start_mark.line + 1,
                )
            seen.add(key_text)
            _check_duplicate_keys(value, name, [*path, key_text])
    elif isinstance(node, yaml.SequenceNode):
        for index, value in enumerate(node.value):
            _check_duplicate_keys(value, name, [*path, index])


# --------------------------------------------------------------------------------------
# JSON Schema validation
# --------------------------------------------------------------------------------------


@functools.cache
def _validator(schema_name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / schema_name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _schema_check(source: _Source, schema_name: str) -> None:
    errors = list(_validator(schema_name).iter_errors(source.data))
    if not errors:
        return
    described = [_describe_schema_error(error) for error in errors]
    # Report the error that comes first in the file; the deepest one if several share a line.
    path, reason = min(described, key=lambda pr: (source.line(pr[0]) or 0, -len(pr[0])))
    raise source.error(path, reason)


def _describe_schema_error(error: jsonschema.ValidationError) -> tuple[list[str | int], str]:
    path = list(error.absolute_path)
    instance = error.instance
    if error.validator == "required" and isinstance(instance, dict):
        missing = [key for key in error.validator_value if key not in instance]
        if missing:
            return [*path, missing[0]], "required field is missing"
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        known = error.schema.get("properties", {})
        extra = [key for key in instance if key not in known]
        if extra:
            return [*path, str(extra[0])], "unknown field"
    if error.validator == "enum":
        allowed = ", ".join(json.dumps(v) for v in error.validator_value)
        return path, f"{json.dumps(instance, ensure_ascii=False)} is not one of: {allowed}"
    if error.validator == "type":
        return path, f"expected {error.validator_value}, got {_json_type(instance)}"
    if error.validator in ("minLength", "pattern") and isinstance(instance, str):
        if not instance.strip():
            return path, "must not be empty"
        return path, f"{instance!r} does not match the pattern {error.validator_value}"
    if error.validator == "anyOf" and error.context:
        sub = min(error.context, key=lambda e: len(list(e.absolute_path)))
        if sub.validator == "type" or instance is None:
            return path, f"{json.dumps(instance, ensure_ascii=False)} has the wrong type"
        return path, f"{json.dumps(instance, ensure_ascii=False)} is not an allowed value"
    return path, error.message


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


# --------------------------------------------------------------------------------------
# Instruments
# --------------------------------------------------------------------------------------

_FILE_NAME = re.compile(r"^(?P<code>.+)\.v(?P<version>[0-9]+)\.yaml$")


def load_instrument(path: str | Path) -> Instrument:
    """Read, validate and return one instrument file ``<code>.v<version>.yaml``."""
    path = Path(path)
    source = _read_yaml(path)
    instrument = _build_instrument(source)
    match = _FILE_NAME.match(path.name)
    expected = f"{instrument.code}.v{instrument.version}.yaml"
    if path.name != expected:
        wrong = "code" if not match or match["code"] != instrument.code else "version"
        raise source.error([wrong], f"the file name {path.name!r} should be {expected!r}")
    return instrument


def instrument_from_snapshot(data: Mapping[str, Any], name: str = "<snapshot>") -> Instrument:
    """Rebuild an instrument from :func:`snapshot` output (e.g. stored with a response)."""
    return _build_instrument(_Source(name, json.loads(json.dumps(data))))


def load_instruments(directory: str | Path | None = None) -> dict[tuple[str, int], Instrument]:
    """All instrument versions in ``directory`` (default: the shipped ones), by (code, version)."""
    directory = Path(directory) if directory is not None else INSTRUMENTS_DIR
    instruments: dict[tuple[str, int], Instrument] = {}
    for path in sorted(directory.glob("*.yaml")):
        instrument = load_instrument(path)
        instruments[(instrument.code, instrument.version)] = instrument
    return instruments


def latest_instruments(directory: str | Path | None = None) -> dict[str, Instrument]:
    """The highest version of each instrument in ``directory``, by code."""
    latest: dict[str, Instrument] = {}
    for (code, _version), instrument in sorted(load_instruments(directory).items()):
        latest[code] = instrument
    return latest


def _localized(data: Mapping[str, str], key: str | None = None) -> LocalizedText:
    return LocalizedText(vi=data["vi"].strip(), en=data["en"].strip(), key=key)


def _optional_localized(data: Mapping[str, str] | None, key: str | None = None) -> LocalizedText | None:
    """A text the schema lets a file leave out (``help``, ``privacy_notice``): None when absent."""
    return None if data is None else _localized(data, key)


def text_context(code: str, version: int) -> str:
    """The msgctxt prefix of an instrument version's texts: ``onestop.v2``."""
    return f"{code}.v{version}"


def _build_instrument(source: _Source) -> Instrument:
    _schema_check(source, "instrument.schema.json")
    data = source.data
    at = text_context(data["code"], data["version"]) + ":"
    sections = tuple(_build_section(source, index, section, at) for index, section in enumerate(data["sections"]))
    instrument = Instrument(
        code=data["code"],
        version=data["version"],
        title=_localized(data["title"], at + "title"),
        intro=_localized(data["intro"], at + "intro"),
        privacy_notice=_optional_localized(data.get("privacy_notice"), at + "privacy_notice"),
        sector=data["sector"],
        channels=tuple(data["channels"]),
        respondent_types=tuple(data["respondent_types"]),
        sections=sections,
        indicators=tuple(IndicatorLink(link["indicator"], link["item"], link["rule"]) for link in data["indicators"]),
        source_path=Path(source.name) if source.root is not None else None,
    )
    _check_instrument(source, instrument)
    return instrument


def _build_section(source: _Source, index: int, data: Mapping[str, Any], at: str = "") -> Section:
    items = tuple(
        _build_item(source, ["sections", index, "items", item_index], item, at)
        for item_index, item in enumerate(data["items"])
    )
    here = f"{at}sections.{data['code']}."
    return Section(
        code=data["code"],
        title=_localized(data["title"], here + "title"),
        help=_optional_localized(data.get("help"), here + "help"),
        aspect=data.get("aspect", False),
        sample=data.get("sample"),
        items=items,
    )


def _build_item(source: _Source, path: list[str | int], data: Mapping[str, Any], at: str = "") -> Item:
    item_type = data["type"]
    has_options = "options" in data
    here = f"{at}items.{data['code']}."
    if has_options:
        # A label written out as the standard set's (a snapshot writes every option) keeps the standard key.
        standard = {(o.value, o.label): o.label.key for o in _STANDARD_OPTIONS.get(item_type, ())}
        options = tuple(
            Option(
                option["value"],
                _localized(option["label"], f"{here}options.{option['value']}"),
                option.get("pictogram"),
            )
            for option in data["options"]
        )
        options = tuple(
            replace(o, label=replace(o.label, key=standard.get((o.value, o.label), o.label.key))) for o in options
        )
    else:
        options = _STANDARD_OPTIONS.get(item_type, ())
    item = Item(
        code=data["code"],
        type=item_type,
        text=_localized(data["text"], here + "text"),
        help=_optional_localized(data.get("help"), here + "help"),
        required=data.get("required", item_type in RATING_TYPES),
        options=options,
        source=data.get("source"),
        default=data.get("default"),
        aspect_overall=data.get("aspect_overall", False),
        demographic=data.get("demographic", False),
        max_length=data.get("max_length"),
        max_choices=data.get("max_choices"),
    )
    _check_item(source, path, item, has_options)
    return item


def _check_item(source: _Source, path: list[str | int], item: Item, has_options: bool) -> None:
    def fail(key: str | int | None, reason: str) -> DefinitionError:
        return source.error(path + ([key] if key is not None else []), reason)

    if _PERSONAL_CODE.search(item.code):
        raise fail("code", "items must not ask for personal data (name, phone, e-mail, address, ID number, ...)")
    for language in LANGUAGES:
        if _PERSONAL_TEXT.search(item.text.get(language)):
            raise source.error(
                [*path, "text", language],
                "the question seems to ask for personal data; this product "
                "never collects names, phone numbers, e-mail, addresses or "
                "ID numbers",
            )

    values = item.option_values
    if len(set(values)) != len(values):
        duplicate = next(v for v in values if values.count(v) > 1)
        index = values.index(duplicate, values.index(duplicate) + 1)
        raise source.error([*path, "options", index, "value"], f"duplicate option value {duplicate!r}")

    if item.type in _STANDARD_OPTIONS:
        standard = {option.value for option in _STANDARD_OPTIONS[item.type]}
        if item.source:
            raise fail("source", f"a {item.type} item takes no source")
        # A five-point item may leave out 0 "no opinion" (the counter kiosk's five faces): then 0 is refused.
        allowed = [standard] + ([standard - {NO_OPINION}] if item.type == "scale5" else [])
        if has_options and set(values) not in allowed:
            wanted = ", ".join(map(str, sorted(standard, key=str)))
            without = " (0 may be left out)" if item.type == "scale5" else ""
            raise fail("options", f"a {item.type} item's option values must be exactly {wanted}{without}")
    elif item.type in ("choice", "multi_choice"):
        if has_options == bool(item.source):
            raise fail(None, f"a {item.type} item needs either options or source (not both)")
        if item.source and item.type != "choice":
            raise fail("source", "only a choice item may take its options from a source")
        for index, value in enumerate(values):
            if not isinstance(value, str):
                raise source.error([*path, "options", index, "value"], "choice option values must be strings")
    elif item.type == "text":
        if has_options or item.source:
            raise fail("options" if has_options else "source", "a text item takes no options")
        if item.max_length is None:
            raise fail("max_length", "a text item needs max_length")
        if item.help is None:
            raise fail("help", "a text item needs help telling people not to write personal data")

    if item.max_length is not None and item.type != "text":
        raise fail("max_length", "only text items take max_length")
    if item.max_choices is not None:
        if item.type != "multi_choice":
            raise fail("max_choices", "only multi_choice items take max_choices")
        if item.max_choices > len(item.options):
            raise fail("max_choices", "max_choices is larger than the number of options")
    if item.default is not None:
        if item.type not in ("choice", "yes_no") or item.source:
            raise fail("default", "only choice and yes_no items with options take a default")
        if item.default not in values:
            raise fail("default", f"{item.default!r} is not one of the option values")
    if item.aspect_overall and item.type != "scale5":
        raise fail("aspect_overall", "an aspect's overall item must be a scale5 item")
    if item.demographic and item.required:
        raise fail("required", "demographic items are optional: they cannot be required")


def _check_instrument(source: _Source, instrument: Instrument) -> None:
    seen_sections: dict[str, int] = {}
    seen_items: dict[str, tuple[int, int]] = {}
    consent_position: tuple[int, int] | None = None
    first_demographic: tuple[int, int] | None = None

    for s_index, section in enumerate(instrument.sections):
        if section.code in seen_sections:
            raise source.error(["sections", s_index, "code"], f"duplicate section code {section.code!r}")
        seen_sections[section.code] = s_index
        overall_items = [i for i, item in enumerate(section.items) if item.aspect_overall]
        if overall_items and not section.aspect:
            raise source.error(
                ["sections", s_index, "items", overall_items[0], "aspect_overall"],
                "aspect_overall items belong in a section with aspect: true",
            )
        if len(overall_items) > 1:
            raise source.error(
                ["sections", s_index, "items", overall_items[1], "aspect_overall"],
                "an aspect has at most one overall item",
            )
        if section.aspect and not any(item.type == "scale5" and not item.aspect_overall for item in section.items):
            raise source.error(
                ["sections", s_index, "items"], "an aspect needs at least one scale5 item besides its overall item"
            )
        if section.sample is not None:
            _check_sample(source, s_index, section, section.sample)
        for i_index, item in enumerate(section.items):
            where = (s_index, i_index)
            if item.code in seen_items:
                raise source.error(
                    ["sections", s_index, "items", i_index, "code"], f"duplicate item code {item.code!r}"
                )
            seen_items[item.code] = where
            if item.code == CONSENT_ITEM:
                consent_position = where
            if item.demographic and first_demographic is None:
                first_demographic = where

    def item_path(code: str, *rest: str | int) -> list[str | int]:
        s_index, i_index = seen_items[code]
        return ["sections", s_index, "items", i_index, *rest]

    # Consent gating and the privacy notice.
    if first_demographic is not None:
        s_index, i_index = first_demographic
        demographic_path: list[str | int] = ["sections", s_index, "items", i_index, "demographic"]
        if consent_position is None:
            raise source.error(demographic_path, f"demographic items need a {CONSENT_ITEM!r} yes_no item before them")
        if consent_position > first_demographic:
            raise source.error(
                item_path(CONSENT_ITEM, "code"), f"{CONSENT_ITEM!r} must come before the demographic items"
            )
        if instrument.privacy_notice is None:
            raise source.error(["privacy_notice"], "an instrument with demographic items needs a privacy_notice")
    if consent_position is not None:
        consent = instrument.item(CONSENT_ITEM)
        if consent.type != "yes_no" or consent.demographic or consent.required:
            raise source.error(
                item_path(CONSENT_ITEM, "type"), f"{CONSENT_ITEM!r} must be an optional, non-demographic yes_no item"
            )
        if consent.default != "no":
            raise source.error(item_path(CONSENT_ITEM, "default"), f'{CONSENT_ITEM!r} must default to "no"')

    # Kiosk: a few seconds, nothing typed, nothing about the person.
    if "kiosk" in instrument.channels:
        for item in instrument.items:
            if item.type == "text" or item.demographic:
                raise source.error(
                    item_path(item.code, "type"), "kiosk instruments take no free text and no demographics"
                )

    # Respondent type.
    if instrument.has_item(RESPONDENT_TYPE_ITEM):
        item = instrument.item(RESPONDENT_TYPE_ITEM)
        if item.type != "choice" or set(item.option_values) != set(instrument.respondent_types):
            raise source.error(
                item_path(RESPONDENT_TYPE_ITEM, "options"),
                "respondent_type must be a choice whose option values are exactly the instrument's respondent_types",
            )

    # Indicator links.
    linked: set[str] = set()
    for index, link in enumerate(instrument.indicators):
        if link.indicator in linked:
            raise source.error(["indicators", index, "indicator"], f"indicator {link.indicator!r} is declared twice")
        linked.add(link.indicator)
        if not instrument.has_item(link.item):
            raise source.error(["indicators", index, "item"], f"no item called {link.item!r}")
        item = instrument.item(link.item)
        rule = RULES[link.rule]
        if item.type != rule.item_type:
            raise source.error(
                ["indicators", index, "rule"],
                f"rule {link.rule!r} needs a {rule.item_type} item, {link.item!r} is {item.type}",
            )
        if not item.required or item.demographic:
            raise source.error(
                ["indicators", index, "item"], f"{link.item!r} feeds an indicator, so it must be required"
            )
        if any(item in sampled_items(section) for section in instrument.sections):
            raise source.error(
                ["indicators", index, "item"],
                f"{link.item!r} is sampled (not asked of everyone), so it cannot feed an indicator",
            )


def _check_sample(source: _Source, s_index: int, section: Section, sample: int) -> None:
    """A sampled section is an aspect with a core overall item and more detail items than it asks."""
    where: list[str | int] = ["sections", s_index, "sample"]
    if not section.aspect:
        raise source.error(where, "only aspect sections (aspect: true) may be sampled")
    if section.overall_item is None or not section.overall_item.required:
        raise source.error(where, "a sampled aspect needs a required aspect_overall item, asked of everyone")
    detail = sampled_items(section)
    if sample >= len(detail):
        raise source.error(
            where, f"sample must be fewer than the aspect's {len(detail)} detail items (scale5, not the overall item)"
        )


# --------------------------------------------------------------------------------------
# Snapshot and hash
# --------------------------------------------------------------------------------------


def snapshot(instrument: Instrument) -> dict[str, Any]:
    """The instrument's full content as JSON-serialisable data, defaults filled in.

    It has the shape of an instrument file, so :func:`instrument_from_snapshot` reads it back.
    """
    out: dict[str, Any] = {
        "code": instrument.code,
        "version": instrument.version,
        "title": instrument.title.as_dict(),
        "intro": instrument.intro.as_dict(),
    }
    if instrument.privacy_notice is not None:
        out["privacy_notice"] = instrument.privacy_notice.as_dict()
    out.update(
        sector=instrument.sector,
        channels=list(instrument.channels),
        respondent_types=list(instrument.respondent_types),
        sections=[_section_snapshot(section) for section in instrument.sections],
        indicators=[
            {"indicator": link.indicator, "item": link.item, "rule": link.rule} for link in instrument.indicators
        ],
    )
    return out


def _section_snapshot(section: Section) -> dict[str, Any]:
    out: dict[str, Any] = {"code": section.code, "title": section.title.as_dict()}
    if section.help is not None:
        out["help"] = section.help.as_dict()
    out["aspect"] = section.aspect
    if section.sample is not None:
        # Only when set: the snapshots, hence the hashes, of unsampled versions stay as they were.
        out["sample"] = section.sample
    out["items"] = [_item_snapshot(item) for item in section.items]
    return out


def _item_snapshot(item: Item) -> dict[str, Any]:
    out: dict[str, Any] = {"code": item.code, "type": item.type, "text": item.text.as_dict()}
    if item.help is not None:
        out["help"] = item.help.as_dict()
    out["required"] = item.required
    if item.source is not None:
        out["source"] = item.source
    elif item.options:
        out["options"] = [
            {"value": option.value, "label": option.label.as_dict()}
            | ({"pictogram": option.pictogram} if option.pictogram else {})
            for option in item.options
        ]
    for key in ("default", "max_length", "max_choices"):
        if getattr(item, key) is not None:
            out[key] = getattr(item, key)
    out["aspect_overall"] = item.aspect_overall
    out["demographic"] = item.demographic
    return out


def content_hash(instrument: Instrument) -> str:
    """SHA-256 (hex) of the canonical JSON of :func:`snapshot`.

    Stable across YAML formatting (key order, quoting, comments, flow or block style,
    defaults written out or left implicit); changes with any wording, option or rule.
    """
    canonical = json.dumps(snapshot(instrument), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def texts(instrument: Instrument) -> Iterator[LocalizedText]:
    """Every text a respondent may read, in the order of the survey, each once (by key).

    Standard option labels (``standard:…``) come with the first item that uses them; what
    translators get from ``flask --app webapp languages export``.
    """
    seen: set[str | None] = set()

    def once(*found: LocalizedText | None) -> Iterator[LocalizedText]:
        for text in found:
            if text is not None and text.key not in seen:
                seen.add(text.key)
                yield text

    yield from once(instrument.title, instrument.intro, instrument.privacy_notice)
    for section in instrument.sections:
        yield from once(section.title, section.help)
        for item in section.items:
            yield from once(item.text, item.help, *(option.label for option in item.options))


# --------------------------------------------------------------------------------------
# Indicators
# --------------------------------------------------------------------------------------


def load_indicators(
    path: str | Path | None = None,
    instruments: Mapping[Any, Instrument] | Iterable[Instrument] | None = None,
) -> dict[str, Indicator]:
    """The indicators by code, each with the instrument items that feed it.

    ``instruments`` defaults to every shipped instrument version. Raises
    :class:`DefinitionError` when an instrument names an unknown indicator, feeds one of
    another sector, or a satisfaction indicator is fed by no instrument.
    """
    path = Path(path) if path is not None else INDICATORS_PATH
    source = _read_yaml(path)
    _schema_check(source, "indicators.schema.json")
    if instruments is None:
        instruments = load_instruments()
    instrument_list = list(instruments.values() if isinstance(instruments, Mapping) else instruments)

    entries = source.data["indicators"]
    positions: dict[str, int] = {}
    for index, entry in enumerate(entries):
        if entry["code"] in positions:
            raise source.error(["indicators", index, "code"], f"duplicate indicator code {entry['code']!r}")
        positions[entry["code"]] = index
        years = [target["year"] for target in entry["targets"]]
        for t_index in range(1, len(years)):
            if years[t_index] <= years[t_index - 1]:
                raise source.error(
                    ["indicators", index, "targets", t_index, "year"], "targets must be in increasing order of year"
                )
        if entry["min_n_show"] > entry["min_n"]:
            raise source.error(["indicators", index, "min_n_show"], "min_n_show cannot be larger than min_n")

    series = _series_table(entries)
    for index, entry in enumerate(entries):
        for key, wanted in (("series_of", None), ("subset_of", "indicator")):
            other = entry.get(key) and (entry[key] if wanted is None else entry[key][wanted])
            if other and (other not in positions or entries[positions[other]]["kind"] != "satisfaction"):
                raise source.error(["indicators", index, key], f"{other!r} is not a satisfaction indicator")

    links: dict[str, list[InstrumentLink]] = {code: [] for code in positions}
    for instrument in sorted(instrument_list, key=lambda i: (i.code, i.version)):
        for l_index, link in enumerate(instrument.indicators):
            where: list[str | int] = ["indicators", l_index, "indicator"]
            if link.indicator not in positions:
                raise _instrument_error(instrument, where, f"unknown indicator {link.indicator!r} (not in {path.name})")
            entry = entries[positions[link.indicator]]
            if entry["kind"] != "satisfaction" or entry.get("series_of") or entry.get("subset_of"):
                raise _instrument_error(
                    instrument, where, f"{link.indicator!r} is not a satisfaction indicator fed by instruments"
                )
            if entry["sector"] is not None and entry["sector"] != instrument.sector:
                raise _instrument_error(
                    instrument,
                    where,
                    f"{link.indicator!r} is for sector {entry['sector']}, the instrument is {instrument.sector}",
                )
            scale = RULES[link.rule].item_type
            code = series.get((link.indicator, scale))
            if code is None:
                raise _instrument_error(
                    instrument,
                    ["indicators", l_index, "rule"],
                    f"{link.indicator!r} counts {entry.get('scale', 'scale5')} answers and no indicator "
                    f"declares itself its {scale} series: answers on different scales are never pooled",
                )
            links[code].append(InstrumentLink(instrument.code, instrument.version, link.item, link.rule))

    indicators: dict[str, Indicator] = {}
    for code, index in positions.items():
        entry = entries[index]
        fed = entry["kind"] != "satisfaction" or entry.get("subset_of")
        if not fed and not links[code]:
            raise source.error(
                ["indicators", index, "code"], f"no instrument feeds the satisfaction indicator {code!r}"
            )
        coverage = entry.get("coverage")
        subset = entry.get("subset_of")
        share = entry.get("share")
        if share and not any(
            instrument.has_item(share["item"])
            and set(share["values"]) <= set(instrument.item(share["item"]).option_values)
            and entry["sector"] in (None, instrument.sector)
            for instrument in instrument_list
        ):
            raise source.error(
                ["indicators", index, "share"],
                f"no instrument of the sector asks {share['item']!r} with the options {', '.join(share['values'])}",
            )
        indicators[code] = Indicator(
            code=code,
            name=_localized(entry["name"]),
            description=_localized(entry["description"]),
            kind=entry["kind"],
            sector=entry["sector"],
            plan_section=entry["plan_section"],
            targets=tuple(
                Target(t["year"], float(t["value"]), t["comparison"], _localized(t["source"])) for t in entry["targets"]
            ),
            min_n=entry["min_n"],
            min_n_show=entry["min_n_show"],
            coverage=Coverage(tuple(coverage["unit_sectors"]), coverage["min_valid_responses"], coverage["period"])
            if coverage
            else None,
            instruments=tuple(links[code]),
            method=entry["method"],
            scale=entry.get("scale", "scale5"),
            series_of=entry.get("series_of"),
            subset_of=Subset(subset["indicator"], tuple(subset["services"])) if subset else None,
            over=entry.get("over"),
            statistic=entry.get("statistic"),
            share=ShareSource(share["item"], tuple(share["values"])) if share else None,
        )
    return indicators


def _series_table(entries: list[Mapping[str, Any]]) -> dict[tuple[str, str], str]:
    """``(indicator an instrument names, scale of the rule's item) → indicator that counts the answer``.

    An indicator counts the answers on its own scale (five points by default); an indicator
    with ``series_of: X`` and ``scale: S`` takes X's links whose answers are on scale S — the
    old three-face counter ratings keep their own series instead of pooling with five-point answers.
    """
    table: dict[tuple[str, str], str] = {}
    for entry in entries:
        scale = entry.get("scale", "scale5")
        table[(entry.get("series_of") or entry["code"], scale)] = entry["code"]
    return table


@functools.lru_cache(maxsize=8)
def _series_of_file(path: Path) -> dict[tuple[str, str], str]:
    return _series_table(_read_yaml(path).data["indicators"])


@functools.lru_cache(maxsize=8)
def _shares_of_file(path: Path) -> tuple[tuple[str, str | None, ShareSource], ...]:
    return tuple(
        (entry["code"], entry["sector"], ShareSource(entry["share"]["item"], tuple(entry["share"]["values"])))
        for entry in _read_yaml(path).data["indicators"]
        if entry["kind"] == "share"
    )


def share_items(instrument: Instrument, path: str | Path | None = None) -> dict[str, tuple[str, ...]]:
    """``item code → answers counted as 1`` for the instrument's items that feed a share indicator."""
    return {
        share.item: share.values
        for _code, sector, share in _shares_of_file(Path(path) if path is not None else INDICATORS_PATH)
        if sector in (None, instrument.sector) and instrument.has_item(share.item)
    }


def share_answers(
    instrument: Instrument, answers: Mapping[str, Any], path: str | Path | None = None
) -> list[tuple[str, int]]:
    """``(share indicator, 1 or 0)`` for each share indicator the answers count in.

    A share indicator counts every instrument of its sector that asks its item; a respondent who
    left the item unanswered is not counted.
    """
    out = []
    for code, sector, share in _shares_of_file(Path(path) if path is not None else INDICATORS_PATH):
        if sector not in (None, instrument.sector) or not instrument.has_item(share.item):
            continue
        value = answers.get(share.item)
        if value is not None and value != "":
            out.append((code, int(value in share.values)))
    return out


def scored_indicator(link: IndicatorLink, path: str | Path | None = None) -> str:
    """The indicator an instrument's link really feeds: the series of the link's answer scale.

    ``KeyError`` when none counts answers on that scale (``load_indicators`` refuses such files).
    """
    return _series_of_file(Path(path) if path is not None else INDICATORS_PATH)[
        (link.indicator, RULES[link.rule].item_type)
    ]


def _instrument_error(instrument: Instrument, path: list[str | int], reason: str) -> DefinitionError:
    """An error located in an already loaded instrument's file (read again for the line)."""
    if instrument.source_path is not None:
        return _read_yaml(instrument.source_path).error(path, reason)
    return _Source(f"<{instrument.code} v{instrument.version}>", None).error(path, reason)


def targets_for(indicator: Indicator, year: int) -> Target | None:
    """The milestone in force in ``year``.

    That is the latest milestone whose year is at or before ``year`` (a target, once its
    year has come, stays the bar until the next milestone's year). For years before the
    first milestone, the first milestone: it is what the work is heading for. ``None``
    only if the indicator has no targets.
    """
    if not indicator.targets:
        return None
    in_force = [target for target in indicator.targets if target.year <= year]
    return in_force[-1] if in_force else indicator.targets[0]


# --------------------------------------------------------------------------------------
# Matrix sampling
# --------------------------------------------------------------------------------------


def sampled_items(section: Section) -> tuple[Item, ...]:
    """The detail items of a sampled section, each respondent being asked ``section.sample`` of them.

    Those are its ``scale5`` items other than the aspect's overall item; empty for a section
    without ``sample``. The overall item and any other item (facts, choices) are asked of everyone.
    """
    if section.sample is None:
        return ()
    return tuple(item for item in section.items if item.type == "scale5" and not item.aspect_overall)


def criterion_items(instrument: Instrument) -> tuple[Item, ...]:
    """The detail criteria measured by matrix sampling: :func:`sampled_items` of every sampled section.

    Each gets its own published rate (``<indicator>/item:<code>``) over the respondents who were
    asked it and answered it, with the same weights as every other rate of the instrument.
    """
    return tuple(item for section in instrument.sections for item in sampled_items(section))


def draw_asked_items(instrument: Instrument, rng: Any) -> frozenset[str] | None:
    """The item codes one respondent is asked: every item but the detail items not drawn.

    For each sampled section, ``section.sample`` of its :func:`sampled_items` are drawn
    uniformly without replacement with ``rng`` (a :class:`random.Random`; the online survey
    uses :class:`random.SystemRandom`), so every detail item is asked of the same share of
    respondents. None when the instrument samples nothing: everything is asked.
    """
    if not any(section.sample for section in instrument.sections):
        return None
    left_out: set[str] = set()
    for section in instrument.sections:
        detail = [item.code for item in sampled_items(section)]
        if detail:
            drawn = set(rng.sample(detail, section.sample))
            left_out.update(code for code in detail if code not in drawn)
    return frozenset(item.code for item in instrument.items if item.code not in left_out)


# --------------------------------------------------------------------------------------
# Answers
# --------------------------------------------------------------------------------------


def coerce_answers(instrument: Instrument, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Turn form strings into canonical answer values; empty answers are dropped.

    Scale answers become ``int``, multi-choice answers a ``list``; one-element lists for
    single-answer items are unwrapped. Values that cannot be converted are kept as they
    are for :func:`validate_answers` to report. Unknown items are kept too.
    """
    answers: dict[str, Any] = {}
    for code, value in raw.items():
        if not instrument.has_item(code):
            answers[code] = value
            continue
        item = instrument.item(code)
        if item.type == "multi_choice":
            if isinstance(value, str):
                value = [value] if value.strip() else []
            elif isinstance(value, (list, tuple)):
                value = [v for v in value if not (isinstance(v, str) and not v.strip())]
            if value == []:
                continue
            answers[code] = value
            continue
        if isinstance(value, (list, tuple)) and len(value) == 1:
            value = value[0]
        if isinstance(value, str):
            value = value.strip()
            if value == "":
                continue
            # isdecimal: int() refuses other digits (²); the length keeps int() far from its size limit.
            if item.is_rating and value.isdecimal() and len(value) <= 9:
                value = int(value)
        if value is None:
            continue
        answers[code] = value
    return answers


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == ()


def validate_answers(
    instrument: Instrument,
    answers: Mapping[str, Any],
    sources: Mapping[str, Iterable[str]] | None = None,
    asked: Iterable[str] | None = None,
) -> list[AnswerError]:
    """Problems with an answer set (empty when it is acceptable).

    Answers are canonical values (see :func:`coerce_answers`). ``sources`` maps a source
    name (``residence_units``) to the values allowed at run time; without it such values
    are only checked for shape. Demographic answers are accepted only when
    ``consent_demographics`` is ``"yes"``. ``asked`` is the set of item codes the respondent
    was asked (:func:`draw_asked_items`): items outside it are not required and an answer to
    one is refused (``not_asked``); None means everything was asked.
    """
    errors: list[AnswerError] = []
    for code in sorted(str(c) for c in answers if not instrument.has_item(str(c))):
        errors.append(AnswerError(code, "unknown_item"))
    asked_set = None if asked is None else frozenset(asked)

    consent = answers.get(CONSENT_ITEM)
    consent_given = consent == "yes"
    allowed_sources = {name: set(values) for name, values in (sources or {}).items()}

    for item in instrument.items:
        value = answers.get(item.code)
        if asked_set is not None and item.code not in asked_set:
            if not _is_empty(value):
                errors.append(AnswerError(item.code, "not_asked"))
            continue
        if _is_empty(value):
            if item.required:
                errors.append(AnswerError(item.code, "required"))
            continue
        if item.demographic and not consent_given:
            errors.append(AnswerError(item.code, "consent_required"))
            continue
        error = _check_value(item, value, allowed_sources)
        if error is not None:
            errors.append(error)
    return errors


def _check_value(item: Item, value: Any, sources: Mapping[str, set[str]]) -> AnswerError | None:
    if item.is_rating:
        if not isinstance(value, int) or isinstance(value, bool):
            return AnswerError(item.code, "invalid_type", {"expected": "integer"})
        if value not in item.option_values:
            return AnswerError(item.code, "invalid_choice", {"value": value})
        return None
    if item.type in ("choice", "yes_no"):
        if not isinstance(value, str):
            return AnswerError(item.code, "invalid_type", {"expected": "string"})
        if item.source is not None:
            allowed = sources.get(item.source)
            if allowed is not None:
                ok = value in allowed
            else:
                ok = len(value) <= MAX_SOURCE_VALUE_LENGTH and value.strip() == value
            return None if ok else AnswerError(item.code, "invalid_choice", {"value": value})
        if value not in item.option_values:
            return AnswerError(item.code, "invalid_choice", {"value": value})
        return None
    if item.type == "multi_choice":
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            return AnswerError(item.code, "invalid_type", {"expected": "list of strings"})
        for choice in value:
            if choice not in item.option_values:
                return AnswerError(item.code, "invalid_choice", {"value": choice})
        if len(set(value)) != len(value):
            return AnswerError(item.code, "duplicate_choice")
        if item.max_choices is not None and len(value) > item.max_choices:
            return AnswerError(item.code, "too_many_choices", {"max_choices": item.max_choices})
        return None
    if item.type == "text":
        if not isinstance(value, str):
            return AnswerError(item.code, "invalid_type", {"expected": "string"})
        if item.max_length is not None and len(value) > item.max_length:
            return AnswerError(item.code, "too_long", {"max_length": item.max_length})
        if has_control_characters(value):
            # Invisible to a moderator, and they break the Word and Excel reports; tab and line breaks are fine.
            return AnswerError(item.code, "control_characters")
        return None
    raise ValueError(f"unknown item type {item.type!r}")  # pragma: no cover - schema forbids


# --------------------------------------------------------------------------------------
# Scoring: satisfied or not
# --------------------------------------------------------------------------------------


def apply_rule(rule: str, value: Any) -> bool | None:
    """Whether ``value`` counts as satisfied under ``rule``.

    ``None`` when there is no answer or the answer is 0 (not used / no opinion).
    Raises ``ValueError`` for a value the rule does not know: validate answers first.
    """
    try:
        spec = RULES[rule]
    except KeyError:
        raise ValueError(f"unknown rule {rule!r}; known: {', '.join(RULES)}") from None
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"answer {value!r} is not an integer; validate answers first")
    if value == NO_OPINION and spec.item_type == "scale5":
        return None
    if value in spec.satisfied:
        return True
    if value in spec.not_satisfied:
        return False
    raise ValueError(f"answer {value!r} is outside rule {rule!r}; validate answers first")


def is_satisfied(instrument: Instrument, indicator_code: str, answers: Mapping[str, Any]) -> bool | None:
    """Whether the respondent counts as satisfied for ``indicator_code`` (None: not counted).

    Raises ``KeyError`` if the instrument does not feed that indicator.
    """
    link = instrument.link(indicator_code)
    return apply_rule(link.rule, answers.get(link.item))


def rated_items(instrument: Instrument) -> tuple[Item, ...]:
    """The items of the item-level metrics: scale5 items of the aspects, not their overall items.

    These are what the Ministry of Health's "tỷ lệ hài lòng chung" and "hài lòng toàn
    diện" are computed over (sections A–E, without the overall questions).
    """
    return tuple(
        item
        for section in instrument.aspects
        for item in section.items
        if item.type == "scale5" and not item.aspect_overall
    )


def _counts(items: Iterable[Item], answers: Mapping[str, Any]) -> tuple[int, int]:
    satisfied = rated = 0
    for item in items:
        verdict = apply_rule("top_two_box", answers.get(item.code))
        if verdict is None:
            continue
        rated += 1
        satisfied += verdict
    return satisfied, rated


def aspect_item_counts(instrument: Instrument, answers: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    """Per aspect: (satisfied answers, rated answers) over its rated items."""
    return {
        section.code: _counts(
            (item for item in section.items if item.type == "scale5" and not item.aspect_overall),
            answers,
        )
        for section in instrument.aspects
    }


def aspect_satisfied(instrument: Instrument, answers: Mapping[str, Any]) -> dict[str, bool | None]:
    """Per aspect, whether the respondent is satisfied with it (None: not counted).

    From the aspect's overall item (top-two-box) when it has one. Otherwise from its rated
    items: satisfied when the mean of the answers 1–5 is at least 4, i.e. "satisfied" on
    average; None when none of them was rated.
    """
    out: dict[str, bool | None] = {}
    for section in instrument.aspects:
        overall = section.overall_item
        if overall is not None:
            out[section.code] = apply_rule("top_two_box", answers.get(overall.code))
            continue
        values = [
            answers[item.code]
            for item in section.items
            if item.type == "scale5" and apply_rule("top_two_box", answers.get(item.code)) is not None
        ]
        out[section.code] = (sum(values) / len(values) >= 4) if values else None
    return out


def item_level_counts(instrument: Instrument, answers: Mapping[str, Any]) -> tuple[int, int]:
    """(satisfied answers, rated answers) over :func:`rated_items`; 0 and missing excluded.

    Summed over respondents, satisfied / rated is the MoH "tỷ lệ hài lòng chung".
    """
    return _counts(rated_items(instrument), answers)


def all_items_satisfied(instrument: Instrument, answers: Mapping[str, Any]) -> bool | None:
    """Whether every rated item was answered 4 or 5 (MoH "hài lòng toàn diện").

    None when the respondent rated none of them (all missing or 0).
    """
    satisfied, rated = item_level_counts(instrument, answers)
    if rated == 0:
        return None
    return satisfied == rated
