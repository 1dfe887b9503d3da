"""Themes of citizens' comments: a documented taxonomy and transparent rules (issue #16).

The taxonomy, its labels and every rule live in ``surveys/themes.yaml`` (read once); how the
rules read a comment is written at the top of that file and in ``docs/comment-themes.md``.
In short: the masked comment is word-segmented with underthesea (a comment written without
diacritics is split at spaces and matched against the lists with their diacritics folded), cut
into clauses, and matched against each theme's cue phrases (whole words, longest phrase first);
a negator up to a few words before a cue flips its polarity; a neutral cue is a complaint when
its clause holds a negative evaluation; a promised delay followed by a longer one ("hẹn 5 ngày
nhưng 2 tuần") is a late result. A comment gets every theme with a cue, or ``other``.

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

from surveys.pii import PLACEHOLDER_RE

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
    """What a phrase is: a cue, an evaluation, a negator, a scope end, a clause break or ignored words."""

    kind: str  # cue | evaluation | negator | scope | break | ignore
    theme: str | None = None
    polarity: str | None = None


@dataclass(frozen=True)
class Mention:
    """One cue found in a comment and the verdict on it."""

    theme: str
    #: The rule that matched: ``<theme>.<polarity>`` (the cue list it comes from), or
    #: ``<theme>.late`` / ``<theme>.on_time`` (the promised-delay pattern).
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
class Lateness:
    """The promised-delay pattern of ``themes.yaml`` (``lateness``)."""

    theme: str
    promise: frozenset[str]
    not_before: frozenset[str]
    within: int
    numbers: dict[str, float]
    units: dict[str, float]
    contrast: frozenset[str]
    late: frozenset[str]


@dataclass(frozen=True)
class Rules:
    version: str
    themes: dict[str, Theme]
    phrases: dict[tuple[str, ...], _Entry]
    #: The same phrases with diacritics folded, for comments written without them.
    folded: dict[tuple[str, ...], _Entry]
    negators: frozenset[tuple[str, ...]]
    skip: frozenset[tuple[str, ...]]
    window: int
    continues: frozenset[tuple[str, ...]]
    spellings: dict[str, tuple[str, ...]]
    lateness: Lateness
    longest: int

    def rule_ids(self) -> list[str]:
        """Every cue list and pattern: what the labelled examples must exercise."""
        ids = {f"{e.theme}.{e.polarity}" for e in self.phrases.values() if e.kind == "cue"}
        return sorted(ids | {f"{self.lateness.theme}.late", f"{self.lateness.theme}.on_time"})


def _normal(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def _syllables(phrase: str) -> tuple[str, ...]:
    return tuple(_normal(phrase).replace("_", " ").split())


def _fold(syllable: str) -> str:
    """``syllable`` without diacritics: ``chờ`` → ``cho``, ``đợi`` → ``doi``."""
    stripped = "".join(c for c in unicodedata.normalize("NFD", syllable) if not unicodedata.combining(c))
    return stripped.replace("đ", "d")


def _folded_table(phrases: dict[tuple[str, ...], _Entry], single: frozenset[str]) -> dict[tuple[str, ...], _Entry]:
    """Phrases keyed without diacritics. A one-syllable phrase is kept only when it is written
    without diacritics or listed in ``unaccented_words`` (``cho`` is "give" far more often than
    ``chờ``); two phrases that fold alike (``quát``, ``quạt``) are both dropped: ambiguous."""
    folded: dict[tuple[str, ...], _Entry] = {}
    ambiguous: set[tuple[str, ...]] = set()
    for key, entry in phrases.items():
        fkey = tuple(_fold(s) for s in key)
        if len(key) == 1 and fkey != key and fkey[0] not in single:
            continue
        if fkey in folded and folded[fkey] != entry:
            ambiguous.add(fkey)
        folded[fkey] = entry
    return {key: entry for key, entry in folded.items() if key not in ambiguous}


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
    for phrase in data["negators"]:
        add(phrase, _Entry("negator"))
    for phrase in data["negation_ends"]:
        add(phrase, _Entry("scope"))
    for phrase in data["clause_breaks"]:
        add(phrase, _Entry("break"))
    for phrase in data["ignore"]:
        add(phrase, _Entry("ignore"))
    late = data["lateness"]
    if late["theme"] not in themes:
        raise ValueError(f"themes.yaml: lateness names an unknown theme {late['theme']!r}")
    lateness = Lateness(
        theme=late["theme"],
        promise=frozenset(_normal(p) for p in late["promise"]),
        not_before=frozenset(_normal(p) for p in late["not_before"]),
        within=int(late["within"]),
        numbers={_normal(k): float(v) for k, v in late["numbers"].items()},
        units={_normal(k): float(v) for k, v in late["units"].items()},
        contrast=frozenset(_normal(p) for p in late["contrast"]),
        late=frozenset(_normal(p) for p in late["late"]),
    )
    return Rules(
        version=str(data["rules_version"]),
        themes=themes,
        phrases=phrases,
        folded=_folded_table(phrases, frozenset(_normal(w) for w in data["unaccented_words"])),
        negators=frozenset(_syllables(p) for p in data["negators"]),
        skip=frozenset(_syllables(p) for p in data["skip"]),
        window=int(data["negation_window"]),
        continues=frozenset(_syllables(p) for p in data["negation_continues"]),
        spellings={_normal(k): _syllables(v) for k, v in data["spellings"].items()},
        lateness=lateness,
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
    from underthesea import word_tokenize  # start-up: loads its model, only when a comment is read

    return word_tokenize


_UNACCENTED_WORDS = re.compile(r"\w+|[^\w\s]+")


def _words(text: str) -> tuple[list[tuple[str, ...] | None], bool]:
    """The comment's words as syllable tuples (``None`` for punctuation, a clause break) and
    whether it is written without diacritics (then split at spaces, each syllable a word,
    diacritics folded: the segmenter cannot read such text)."""

    text = PLACEHOLDER_RE.sub(" , ", unicodedata.normalize("NFC", text or ""))
    unaccented = text.isascii()
    table = rules()
    tokens = _UNACCENTED_WORDS.findall(text) if unaccented else _word_tokenize()(text)
    words: list[tuple[str, ...] | None] = []
    for word in tokens:
        if _PUNCTUATION.match(word):
            words.append(None)
            continue
        syllables: list[str] = []
        for syllable in _syllables(word):
            syllables.extend(table.spellings.get(syllable, (syllable,)))
        if unaccented:
            words.extend((_fold(s),) for s in syllables)
        elif syllables:
            words.append(tuple(syllables))
    return words, unaccented


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


def _scan(syllables: list[str], starts: list[bool], clauses: list[int], phrases: dict) -> tuple[list, list[int]]:
    """The comment as steps ``(position, entry or None, syllables)``, longest phrase first, and
    each syllable's clause after the clause-break words (``nhưng``) split them."""
    longest = rules().longest
    effective = list(clauses)
    steps: list[tuple[int, _Entry | None, tuple[str, ...]]] = []
    position = shift = 0
    while position < len(syllables):
        found = None
        for length in range(min(longest, len(syllables) - position), 0, -1):
            end = position + length
            if (end < len(syllables) and not starts[end]) or clauses[end - 1] != clauses[position]:
                continue  # a phrase is whole words of one clause
            key = tuple(syllables[position:end])
            if key in phrases:
                found = (length, phrases[key])
                break
        if found is None:
            length, entry = 1, None
            while position + length < len(syllables) and not starts[position + length]:
                length += 1
        else:
            length, entry = found
            if entry.kind == "break":
                shift += 1
        for index in range(position, position + length):
            effective[index] = clauses[index] + shift
        steps.append((position, entry, tuple(syllables[position : position + length])))
        position += length
    return steps, effective


def _verdicts(steps: list, effective: list[int], unaccented: bool) -> list[tuple[int, _Entry, tuple[str, ...], bool]]:
    """Each cue and evaluation with whether a negator reaches it.

    A negator reaches the first cue or evaluation after it in its clause, at most ``negation_window``
    words on, unless a ``negation_ends`` word (``vì``, ``nên``, ``mà``…) comes first. A neutral cue
    is reached only right after the negator (one ``skip`` word may stand between): ``không có số
    thứ tự`` is an absence, but in ``không bị đòi khoản tiền nào`` the negation is of the verb.
    """
    table = rules()
    fold = (lambda keys: {tuple(_fold(s) for s in key) for key in keys}) if unaccented else set
    skip, continues = fold(table.skip), fold(table.continues)
    verdicts = []
    # The open negator: words since it, whether they were all skip words, whether it already
    # negated a cue (then it reaches only a cue right after, or after a "continues" word).
    negator: list | None = None
    clause = None
    for at, entry, key in steps:
        if effective[at] != clause:
            clause, negator = effective[at], None
        kind = entry.kind if entry else None
        if kind == "negator":
            negator = [0, True, False]
        elif kind in ("scope", "break"):
            negator = None
        elif kind in ("cue", "evaluation"):
            if negator is None:
                negated = False
            elif negator[2]:
                negated = entry.polarity != "neutral" and (negator[0] == 0 or negator[1])
            elif kind == "cue" and entry.polarity == "neutral":
                negated = negator[0] <= 1 and negator[1]
            else:
                negated = negator[0] <= table.window
            verdicts.append((at, entry, key, negated))
            if negated:
                negator = [0, False, True]
            elif negator is not None:
                negator[0] += 1
                negator[1] = False
                if negator[2]:
                    negator = None
        elif negator is not None:
            negator[0] += 1
            if negator[2]:
                negator[1] = negator[0] == 1 and key in continues
                if not negator[1]:
                    negator = None
            else:
                negator[1] = negator[1] and key in skip
                if negator[0] > table.window:
                    negator = None
    return verdicts


def _duration(syllables: list[str], at: int, units: dict[str, float], numbers: dict[str, float]) -> float | None:
    """The number of days written at ``at`` (``5 ngày``, ``hai tuần``), or ``None``."""
    if at + 1 >= len(syllables) or syllables[at + 1] not in units:
        return None
    word, unit = syllables[at], units[syllables[at + 1]]
    if re.fullmatch(r"\d+([.,]\d+)?", word):
        return float(word.replace(",", ".")) * unit
    return numbers[word] * unit if word in numbers else None


def _same(text: str) -> str:
    return text


def _lateness(syllables: list[str], starts: list[bool], unaccented: bool) -> list[Mention]:
    """The promised-delay pattern: after a promise word (``hẹn``, ``hạn``), two delays where the
    second is longer (``hẹn 5 ngày nhưng 2 tuần``: late) or not (``hẹn 7 ngày, 5 ngày đã có``: on
    time); or, with one or no delay, a ``contrast`` word and then a ``late`` word
    (``hẹn thứ hai mà đến nay vẫn chưa có``: late)."""
    spec = rules().lateness
    fold = _fold if unaccented else _same
    promise = {fold(p) for p in spec.promise}
    not_before = {fold(p) for p in spec.not_before}
    contrast, late = {fold(p) for p in spec.contrast}, {fold(p) for p in spec.late}
    units = {fold(k): v for k, v in spec.units.items()}
    numbers = {fold(k): v for k, v in spec.numbers.items()}
    count = len(syllables)
    for at, syllable in enumerate(syllables):
        word_ends = at + 1 == count or starts[at + 1]
        if syllable not in promise or not word_ends or (at + 1 < count and syllables[at + 1] in not_before):
            continue
        end = min(count, at + 1 + spec.within)
        delays, seen_contrast, verdict, index, last = [], False, None, at + 1, at + 1
        while index < end:
            delay = _duration(syllables, index, units, numbers)
            if delay is not None:
                delays.append(delay)
                index += 2
                last = index
                continue
            if syllables[index] in contrast:
                seen_contrast = True
            elif seen_contrast and syllables[index] in late and verdict is None:
                verdict, last = True, max(last, index + 1)
            index += 1
        if len(delays) >= 2:
            verdict = delays[1] > delays[0]
        if verdict is None:
            continue
        phrase = " ".join(syllables[at:last])
        rule = f"{spec.theme}.late" if verdict else f"{spec.theme}.on_time"
        return [Mention(spec.theme, rule, phrase, False, verdict)]
    return []


def explain(text: str) -> list[Mention]:
    """Every cue in ``text`` with its verdict, in reading order."""
    table = rules()
    words, unaccented = _words(text)
    syllables, starts, clauses = _flatten(words)
    steps, effective = _scan(syllables, starts, clauses, table.folded if unaccented else table.phrases)
    verdicts = _verdicts(steps, effective, unaccented)
    negative_clauses = {
        effective[at]
        for at, entry, _key, negated in verdicts
        if entry.kind == "evaluation" and (entry.polarity == "negative") != negated
    }
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
    mentions.extend(_lateness(syllables, starts, unaccented))
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
