"""Themes of citizens' comments: a documented taxonomy and transparent rules (issue #16).

The taxonomy, its labels and every rule live in ``surveys/themes.yaml`` (read once); how the
rules read a comment is written at the top of that file and in ``docs/comment-themes.md``.
In short: the masked comment is word-segmented with underthesea, cut into clauses, and matched
against each theme's cue phrases (whole words, longest phrase first); a cue right after a
negator flips its polarity; a neutral cue is a complaint when its clause holds a negative
evaluation. A comment gets every theme with a cue, or ``other``.

:func:`assign` returns the themes of one text; :func:`explain` lists every mention and why
(``flask themes explain``). Storing them is :mod:`webapp.insights.themes`' job.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

THEMES_FILE = Path(__file__).with_name("themes.yaml")
#: The theme of a comment no rule matches.
OTHER = "other"
POLARITIES = ("negative", "positive", "neutral")
_PUNCTUATION = re.compile(r"^[\W_]+$")


@dataclass(frozen=True)
class Theme:
    code: str
    label: dict[str, str]
    description: dict[str, str]

    def label_in(self, language: str) -> str:
        return self.label.get(language) or self.label["en"]

    def description_in(self, language: str) -> str:
        return self.description.get(language) or self.description["en"]


@dataclass(frozen=True)
class _Entry:
    """What a phrase is: a theme's cue, an evaluation, a negator, a clause break or ignored words."""

    kind: str  # cue | evaluation | break | ignore
    theme: str | None = None
    polarity: str | None = None


@dataclass(frozen=True)
class Mention:
    """One cue found in a comment and the verdict on it."""

    theme: str
    #: The rule that matched: ``<theme>.<polarity>`` (the cue list it comes from).
    rule: str
    phrase: str
    negated: bool
    negative: bool


@dataclass(frozen=True)
class Assignment:
    """One theme of a comment: negative when any of its mentions is a complaint."""

    theme: str
    negative: bool
    mentions: tuple[Mention, ...] = ()


@dataclass(frozen=True)
class Rules:
    version: str
    themes: dict[str, Theme]
    phrases: dict[tuple[str, ...], _Entry]
    negators: frozenset[tuple[str, ...]]
    skip: frozenset[tuple[str, ...]]
    longest: int

    def rule_ids(self) -> list[str]:
        """Every cue list, ``<theme>.<polarity>``: what the labelled examples must exercise."""
        return sorted({f"{e.theme}.{e.polarity}" for e in self.phrases.values() if e.kind == "cue"})


def _normal(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def _syllables(phrase: str) -> tuple[str, ...]:
    return tuple(_normal(phrase).replace("_", " ").split())


@cache
def rules() -> Rules:
    """The taxonomy and the rules of ``themes.yaml`` (read once per process)."""
    data = yaml.safe_load(THEMES_FILE.read_text(encoding="utf-8"))
    phrases: dict[tuple[str, ...], _Entry] = {}

    def add(phrase: str, entry: _Entry) -> None:
        key = _syllables(phrase)
        if key in phrases and phrases[key] != entry:
            raise ValueError(f"themes.yaml: {phrase!r} is listed twice ({phrases[key]} and {entry})")
        phrases[key] = entry

    themes = {}
    for code, spec in data["themes"].items():
        themes[code] = Theme(code, dict(spec["label"]), dict(spec["description"]))
        for polarity, cues in (spec.get("cues") or {}).items():
            if polarity not in POLARITIES:
                raise ValueError(f"themes.yaml: {code} has cues of unknown polarity {polarity!r}")
            for phrase in cues:
                add(phrase, _Entry("cue", code, polarity))
    if OTHER not in themes:
        raise ValueError("themes.yaml: the taxonomy needs the theme 'other'")
    for polarity in ("negative", "positive"):
        for phrase in data["evaluations"][polarity]:
            key = _syllables(phrase)
            if key not in phrases:  # a theme's cue of the same words wins
                phrases[key] = _Entry("evaluation", None, polarity)
    for phrase in data["clause_breaks"]:
        add(phrase, _Entry("break"))
    for phrase in data["ignore"]:
        add(phrase, _Entry("ignore"))
    return Rules(
        version=str(data["rules_version"]),
        themes=themes,
        phrases=phrases,
        negators=frozenset(_syllables(p) for p in data["negators"]),
        skip=frozenset(_syllables(p) for p in data["skip"]),
        longest=max(len(key) for key in phrases),
    )


def rules_version() -> str:
    return rules().version


def theme_codes() -> tuple[str, ...]:
    """The taxonomy's codes in its documented order (``other`` last)."""
    return tuple(rules().themes)


def theme(code: str) -> Theme:
    return rules().themes[code]


@cache
def _word_tokenize():
    from underthesea import word_tokenize  # loads its model: only when a comment is read

    return word_tokenize


def _words(text: str) -> list[tuple[str, ...] | None]:
    """The comment's words as syllable tuples; ``None`` for punctuation (a clause break)."""
    from surveys.pii import PLACEHOLDER_RE

    text = PLACEHOLDER_RE.sub(" , ", unicodedata.normalize("NFC", text or ""))
    words: list[tuple[str, ...] | None] = []
    for word in _word_tokenize()(text):
        if _PUNCTUATION.match(word):
            words.append(None)
        else:
            syllables = _syllables(word)
            if syllables:
                words.append(syllables)
    return words


def _flatten(words: list[tuple[str, ...] | None]) -> tuple[list[str], list[bool], list[int]]:
    """Syllables, whether each starts a word, and each one's clause number (punctuation splits)."""
    syllables: list[str] = []
    starts: list[bool] = []
    clauses: list[int] = []
    clause = 0
    for word in words:
        if word is None:
            clause += 1
            continue
        for index, syllable in enumerate(word):
            syllables.append(syllable)
            starts.append(index == 0)
            clauses.append(clause)
    return syllables, starts, clauses


def _negated(syllables: list[str], starts: list[bool], clauses: list[int], at: int, table: Rules) -> bool:
    """Whether a negator ends right before ``at`` (one skip word may stand between), in its clause."""

    def ends_with_negator(end: int) -> bool:
        for length in range(1, 4):
            begin = end - length
            if begin < 0 or not starts[begin] or clauses[begin] != clauses[at]:
                continue
            if tuple(syllables[begin:end]) in table.negators:
                return True
        return False

    if ends_with_negator(at):
        return True
    for length in (1, 2):
        begin = at - length
        if begin >= 0 and starts[begin] and clauses[begin] == clauses[at] and tuple(syllables[begin:at]) in table.skip:
            return ends_with_negator(begin)
    return False


def explain(text: str) -> list[Mention]:
    """Every cue in ``text`` with its verdict, in reading order."""
    table = rules()
    syllables, starts, clauses = _flatten(_words(text))
    # Each syllable's clause: punctuation and clause-break words ("nhưng") start a new one.
    effective = list(clauses)
    matches: list[tuple[int, _Entry, tuple[str, ...]]] = []
    position = shift = 0
    while position < len(syllables):
        found = None
        for length in range(min(table.longest, len(syllables) - position), 0, -1):
            end = position + length
            if (end < len(syllables) and not starts[end]) or clauses[end - 1] != clauses[position]:
                continue  # a phrase is whole words of one clause
            key = tuple(syllables[position:end])
            if key in table.phrases:
                found = (length, table.phrases[key], key)
                break
        if found is None:
            length, entry, key = 1, None, ()
            while position + length < len(syllables) and not starts[position + length]:
                length += 1
        else:
            length, entry, key = found
            if entry.kind == "break":
                shift += 1
            elif entry.kind in ("cue", "evaluation"):
                matches.append((position, entry, key))
        for index in range(position, position + length):
            effective[index] = clauses[index] + shift
        position += length

    negative_clauses: set[int] = set()
    verdicts: list[tuple[int, _Entry, tuple[str, ...], bool]] = []
    for at, entry, key in matches:
        negated = _negated(syllables, starts, effective, at, table)
        verdicts.append((at, entry, key, negated))
        if entry.kind == "evaluation" and (entry.polarity == "negative") != negated:
            negative_clauses.add(effective[at])
    mentions = []
    for at, entry, key, negated in verdicts:
        if entry.kind != "cue":
            continue
        if entry.polarity == "negative":
            negative = not negated
        elif entry.polarity == "positive":
            negative = negated
        else:
            negative = negated or effective[at] in negative_clauses
        mentions.append(
            Mention(entry.theme, f"{entry.theme}.{entry.polarity}", " ".join(key), negated, negative)  # type: ignore[arg-type]
        )
    if not mentions and negative_clauses:
        # No theme, but a complaint all the same: "other", negative.
        mentions.append(Mention(OTHER, f"{OTHER}.evaluation", "", False, True))
    return mentions


def assign(text: str) -> list[Assignment]:
    """The themes of ``text`` in taxonomy order; ``other`` when no rule matches."""
    mentions = explain(text)
    by_theme: dict[str, list[Mention]] = {}
    for mention in mentions:
        by_theme.setdefault(mention.theme, []).append(mention)
    if not by_theme:
        return [Assignment(OTHER, False)]
    order = theme_codes()
    return [
        Assignment(code, any(m.negative for m in found), tuple(found))
        for code, found in sorted(by_theme.items(), key=lambda pair: order.index(pair[0]))
    ]


def parse_codes(codes: Iterable[str]) -> list[str]:
    """``codes`` checked against the taxonomy (``ValueError`` names the first unknown one)."""
    known = set(theme_codes())
    checked = []
    for code in codes:
        if code not in known:
            raise ValueError(f"unknown theme {code!r}")
        checked.append(code)
    return checked
