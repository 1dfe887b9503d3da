"""The masker on the labelled corpus of issue #16: recall ≥ 99 % of the pieces of personal data
and ≥ 95 % of the harmless words kept, on the tuning part and, apart, on the held-out part that
was written before the masker was tuned (tests/surveys/pii_labelled.py defines both measures)."""

from __future__ import annotations

from collections import Counter

import pytest

from surveys.pii import mask_personal_data
from tests.surveys.pii_labelled import HELD_OUT, TUNING, Comment, load, parse, score

#: A second blind set, written without reading the masker's word lists and committed before its
#: one blind run (recall 74/79 = 93.7 %: names in lower case leaked). That blind number is in
#: bench/README.md; the set was then read and its general bugs fixed, so here it is held to the
#: same thresholds as the rest (it reaches 79/79 and 99.8 % kept after the fixes).
BLIND_2 = TUNING.with_name("pii_corpus_blind2.yaml")
PARTS = {"tuning": load(TUNING), "held-out": load(HELD_OUT), "blind 2 (no longer blind)": load(BLIND_2)}


def test_corpus_is_large_and_covers_the_issue() -> None:
    comments = PARTS["tuning"] + PARTS["held-out"]
    assert len(comments) >= 300
    assert len(PARTS["held-out"]) * 4 >= len(comments)  # about a third held out
    kinds = Counter(kind for comment in comments for _start, _end, kind in comment.pieces)
    assert kinds["name"] >= 100 and kinds["phone"] >= 30 and kinds["email"] >= 15
    assert sum(1 for comment in comments if not comment.pieces) >= 100  # plenty of harmless comments
    text = " ".join(comment.text for comment in comments)
    for word in ("Mùa", "Giàng", "Sùng", "Thào", "Lò", "Lường", "Quàng", "Cầm", "Tòng", "Chiềng Sinh", "Tô Hiệu"):
        assert word in text


@pytest.mark.parametrize("part", PARTS)
def test_recall_and_harmless_words_kept(part: str) -> None:
    result = score(PARTS[part], mask_personal_data)
    print(
        f"\n{part}: recall {result.masked}/{result.pieces} = {result.recall:.2%}, "
        f"harmless words kept {result.kept}/{result.words} = {result.kept_share:.2%}"
    )
    assert result.recall >= 0.99, result.leaks
    assert result.kept_share >= 0.95, result.lost


def test_the_measures_count_leaks_and_lost_words() -> None:
    comment = parse("Tôi tên {name:Lò Văn Hùng}, gọi {phone:0912 345 678}.")
    assert comment.text == "Tôi tên Lò Văn Hùng, gọi 0912 345 678."
    nothing = score([comment], lambda text: mask_personal_data(""))
    assert (nothing.masked, nothing.pieces, nothing.kept, nothing.words) == (0, 2, 3, 3)
    everything = score([comment], lambda text: type(mask_personal_data(""))("", (), ((0, len(text), "name"),)))
    assert (everything.masked, everything.kept) == (2, 0)


def test_every_mark_is_well_formed() -> None:
    with pytest.raises(ValueError):
        parse("Tôi tên {nam:Lò Văn Hùng}")
    comments = [comment for part in PARTS.values() for comment in part]
    assert comments and all(isinstance(comment, Comment) for comment in comments)
