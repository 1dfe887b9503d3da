"""The labelled corpus of the personal-data masker and its two measures (issue #16).

Used by tests/surveys/test_pii_corpus.py and bench/pii_bench.py. Each comment marks its pieces of
personal data ``{kind:text}``; everything else is harmless text.

* **recall**: pieces fully masked (every letter and digit of the piece inside a masked span) /
  all pieces;
* **harmless words kept**: words (runs of letters or digits) outside the labelled pieces that no
  masked span touches / all such words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from surveys.pii import PLACEHOLDERS, MaskResult

HERE = Path(__file__).parent
TUNING = HERE / "pii_corpus_labelled.yaml"
HELD_OUT = HERE / "pii_corpus_heldout.yaml"
_MARK_RE = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r"):([^{}]+)\}")
_WORD_RE = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Comment:
    text: str
    pieces: tuple[tuple[int, int, str], ...]  # (start, end, kind) in text


def parse(marked: str) -> Comment:
    """A comment with its ``{kind:text}`` marks removed, and where they were."""
    marked = unicodedata.normalize("NFC", marked)
    pieces, out, last = [], [], 0
    for m in _MARK_RE.finditer(marked):
        out.append(marked[last : m.start()])
        start = sum(len(part) for part in out)
        out.append(m.group(2))
        pieces.append((start, start + len(m.group(2)), m.group(1)))
        last = m.end()
    out.append(marked[last:])
    text = "".join(out)
    if "{" in text or "}" in text:
        raise ValueError(f"unbalanced or unknown mark in {marked!r}")
    return Comment(text, tuple(pieces))


def load(path: Path) -> list[Comment]:
    return [parse(entry) for entry in yaml.safe_load(path.read_text(encoding="utf-8"))]


@dataclass
class Score:
    pieces: int = 0
    masked: int = 0
    words: int = 0
    kept: int = 0
    leaks: list[str] | None = None
    lost: list[str] | None = None

    @property
    def recall(self) -> float:
        return self.masked / self.pieces if self.pieces else 1.0

    @property
    def kept_share(self) -> float:
        return self.kept / self.words if self.words else 1.0


def score(comments: list[Comment], mask: Callable[[str], MaskResult]) -> Score:
    """Recall and harmless words kept of ``mask`` on ``comments``, with the misses listed."""
    result = Score(leaks=[], lost=[])
    for comment in comments:
        spans = mask(comment.text).spans
        covered = bytearray(len(comment.text))
        for start, end, _kind in spans:
            covered[start:end] = b"\x01" * (end - start)
        labelled = bytearray(len(comment.text))
        for start, end, kind in comment.pieces:
            labelled[start:end] = b"\x01" * (end - start)
            result.pieces += 1
            inside = [i for i in range(start, end) if comment.text[i].isalnum()]
            if all(covered[i] for i in inside):
                result.masked += 1
            else:
                result.leaks.append(f"{kind}: {comment.text[start:end]!r} in {comment.text!r}")
        for m in _WORD_RE.finditer(comment.text):
            if any(labelled[m.start() : m.end()]):
                continue
            result.words += 1
            if any(covered[m.start() : m.end()]):
                result.lost.append(f"{m.group()!r} in {comment.text!r}")
            else:
                result.kept += 1
    return result
