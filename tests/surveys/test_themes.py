"""Comment themes: the taxonomy, every rule on labelled examples, negation, the demo's planted themes."""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from surveys import themes

HERE = Path(__file__).parent
#: Labelled examples the rules were written against: the first rules, then the widening of 2026.12-2.
EXAMPLES = [
    example
    for name in ("theme_examples.yaml", "theme_tuning.yaml")
    for example in yaml.safe_load((HERE / name).read_text(encoding="utf-8"))
]
TAXONOMY = ("waiting", "attitude", "guidance", "fees", "facilities", "online", "result", "other")


def found(text: str) -> dict[str, bool]:
    return {a.theme: a.negative for a in themes.assign(text)}


def test_taxonomy_is_documented_in_both_languages_with_a_rules_version():
    assert themes.theme_codes() == TAXONOMY
    for code in TAXONOMY:
        theme = themes.theme(code)
        assert theme.label_in("vi") and theme.label_in("en") and theme.label_in("vi") != theme.label_in("en")
        assert theme.description_in("vi") and theme.description_in("en")
    assert themes.rules_version() and len(themes.rules_version()) <= 20  # CommentTheme.rules_version


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["text"][:40] for e in EXAMPLES])
def test_labelled_example_gets_exactly_its_themes(example):
    assert found(example["text"]) == example["themes"]
    if "near" in example:
        assert example["near"] not in found(example["text"])


def test_every_rule_is_exercised_and_every_theme_has_complaint_praise_and_near_miss():
    used = {m.rule for e in EXAMPLES for a in themes.assign(e["text"]) for m in a.mentions}
    assert set(themes.rules().rule_ids()) <= used
    codes = TAXONOMY[:-1]  # every theme but "other"
    assert len(codes) == 7
    for code in codes:
        labelled = [e["themes"][code] for e in EXAMPLES if code in e["themes"]]
        assert len(labelled) >= 3, code
        assert True in labelled and False in labelled, code
        assert any(e.get("near") == code for e in EXAMPLES), code


def test_negation_flips_the_verdict_of_a_cue():
    assert found("Phải chờ lâu.") == {"waiting": True}
    assert found("Không phải chờ.") == {"waiting": False}
    assert found("Cán bộ niềm nở.") == {"attitude": False}
    assert found("Cán bộ không niềm nở.") == {"attitude": True}
    assert found("Cán bộ không hề niềm nở.") == {"attitude": True}  # one skip word may stand between
    # A negator in another clause does not reach the cue.
    assert found("Không sao, cán bộ niềm nở.") == {"attitude": False}
    # A neutral cue complains when its clause holds a negative evaluation, and only then.
    assert found("Phòng chờ nóng.") == {"facilities": True}
    assert found("Phòng chờ không nóng.") == {"facilities": False}


def test_negation_reaches_a_few_words_on_within_its_clause_and_no_further():
    # The negator stands five words before "ngoài lệ phí": still negated, not a fees complaint.
    assert found("Không bị đòi bất cứ khoản tiền nào ngoài lệ phí.") == {"fees": False}
    # ... but a neutral cue is an absence only right after the negator: the money is no complaint.
    assert found("Không bị đòi khoản tiền nào.") == {"fees": False}
    assert found("Không có số thứ tự.") == {"waiting": True}
    # Past the window (negation_window words) the negator no longer reaches.
    assert themes.rules().window == 5
    # "Don't remember the name of the officer who was curt": six words between, a complaint.
    assert found("Không nhớ tên người cán bộ hôm trước đã cáu gắt.") == {"attitude": True}
    # "không biết" (don't know) negates nothing after it.
    assert found("Không biết hôm nay cán bộ xã cáu gắt.") == {"attitude": True}
    # A "negation_ends" word (vì, nên, mà…) closes it: the complaint after "vì" stands.
    assert found("Không hài lòng vì cán bộ cáu gắt.") == {"attitude": True}
    # After a negated cue it goes on only across "hay"/"hoặc" or to a cue right after.
    assert found("Không ai gây khó dễ hay hạch sách.") == {"attitude": False}
    assert found("Không ai gây khó dễ, hạch sách.") == {"attitude": True}


def test_comments_without_diacritics_are_read_with_the_lists_folded():
    assert found("cho doi lau qua") == {"waiting": True}
    assert found("can bo niem no, tan tinh") == {"attitude": False}
    # One-syllable words fold only when listed: "cho" (give) is not "chờ".
    assert found("huong dan cho dan") == {"guidance": False}
    # Two phrases that fold alike (quát: shout at, quạt: fan) are not read at all.
    assert ("quat",) not in themes.rules().folded
    assert found("Cán bộ quát.") == {"attitude": True} and found("Có quạt.") == {"facilities": False}
    # A comment with diacritics never uses the folded lists: "cho" stays "give".
    assert found("Tôi cho con đi học.") == {"other": False}
    # Chat spellings are read as the word they stand for.
    assert found("ko phải chờ") == {"waiting": False}


def test_a_promised_delay_followed_by_a_longer_one_is_a_late_result():
    assert found("Hẹn 5 ngày nhưng 2 tuần mới có kết quả.") == {"result": True}
    assert found("Hẹn năm ngày mà hai tháng chưa có.") == {"result": True}
    assert found("Hẹn 15 ngày, 10 ngày đã có.") == {"result": False}
    assert found("Hẹn thứ hai mà đến nay chưa có.") == {"result": True}
    # An appointment to be seen, or "hạn" inside "hạn chế", is no promised result.
    assert "result" not in found("Hẹn khám lúc 8 giờ mà 10 giờ mới khám.")
    assert "result" not in found("Nên hạn chế giấy tờ.")
    late = [m for m in themes.explain("Hẹn 5 ngày nhưng 2 tuần mới có.") if m.rule == "result.late"]
    assert [m.phrase for m in late] == ["hẹn 5 ngày nhưng 2 tuần mới"]


def test_phrases_match_whole_words_and_the_longest_wins():
    # "phí" is a fees cue, but the segmenter makes "lãng phí" (waste) one word: no fees there.
    assert found("Đừng lãng phí thời gian của dân.") == {"other": False}
    assert found("Phí cao quá.") == {"fees": True}
    # "chờ" alone is waiting; "chỗ ngồi chờ" is a longer facilities cue and wins.
    assert found("Có chỗ ngồi chờ.") == {"facilities": False}


def test_placeholders_of_the_masker_are_not_read_as_words():
    assert found("Gọi [số điện thoại], cán bộ lịch sự.") == {"attitude": False}


def test_empty_or_unthemed_text_is_other():
    assert found("") == {"other": False}
    assert found("Tôi không hài lòng.") == {"other": True}


def test_a_phrase_listed_twice_is_refused(tmp_path, monkeypatch):
    data = yaml.safe_load(themes.THEMES_FILE.read_text(encoding="utf-8"))
    data["themes"]["attitude"]["cues"]["negative"].append("chờ lâu")
    broken = tmp_path / "themes.yaml"
    broken.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(themes, "THEMES_FILE", broken)
    themes.rules.cache_clear()
    try:
        with pytest.raises(ValueError, match="chờ lâu"):
            themes.rules()
    finally:
        monkeypatch.undo()
        themes.rules.cache_clear()


def test_the_word_segmenter_loads_only_when_a_comment_is_read():
    code = (
        "import sys; from surveys import themes; themes.rules(); assert 'underthesea' not in sys.modules;"
        " themes.assign('Chờ lâu.'); assert 'underthesea' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


def test_demo_comments_get_exactly_their_planted_themes():
    from webapp.demo.comments import PLANTED_NEGATIVE, PLANTED_POSITIVE

    assert PLANTED_NEGATIVE and PLANTED_POSITIVE
    for text, _weight, planted in PLANTED_NEGATIVE + PLANTED_POSITIVE:
        assert found(text) == planted, text
    assert all(any(planted.values()) for _t, _w, planted in PLANTED_NEGATIVE)
    assert not any(any(planted.values()) for _t, _w, planted in PLANTED_POSITIVE)


def test_demo_complaints_are_mostly_waiting_then_attitude():
    from webapp.demo.comments import pick_comment

    rand = random.Random(4)
    complaints = Counter(
        theme for _ in range(3000) for theme, negative in found_cached(pick_comment(rand, False)).items() if negative
    )
    ranking = [theme for theme, _count in complaints.most_common()]
    assert ranking[:2] == ["waiting", "attitude"]
    assert 0.35 < complaints["waiting"] / 3000 < 0.45
    praise = Counter(theme for _ in range(500) for theme, neg in found_cached(pick_comment(rand, True)).items() if neg)
    assert not praise


_CACHE: dict[str, dict[str, bool]] = {}


def found_cached(text: str) -> dict[str, bool]:
    if text not in _CACHE:
        _CACHE[text] = found(text)
    return _CACHE[text]


def precision_recall(examples) -> dict[str, tuple[int, int, int]]:
    """Per theme: (true positives, false positives, false negatives) of the rules on ``examples``."""
    tally = {code: [0, 0, 0] for code in TAXONOMY}
    for example in examples:
        got, want = found(example["text"]), example["themes"]
        for code in TAXONOMY:
            tally[code][0] += code in got and code in want
            tally[code][1] += code in got and code not in want
            tally[code][2] += code not in got and code in want
    return {code: tuple(counts) for code, counts in tally.items()}


#: Measured on comments the rules were not written against (docs/comment-themes.md), over the seven
#: real themes: (true positives, false positives, false negatives, right complaint verdicts).
#: heldout: 20 comments, 2026.12-1 gave (15, 0, 9); its misses were named when the rules were widened.
#: heldout2: 100 comments written before the widening; 2026.12-1 gave (66, 3, 48); its misses were
#: seen while widening, so this "after" is optimistic. heldout3: 60 comments written after the
#: 2026.12-2 rules were committed, never tuned on; 2026.12-1 gave (33, 1, 36): the clean measure.
HELD_OUT = {
    "theme_heldout.yaml": (22, 0, 2, 21),
    "theme_heldout2.yaml": (95, 7, 19, 89),
    "theme_heldout3.yaml": (46, 2, 23, 38),
}


@pytest.mark.parametrize("name", HELD_OUT)
def test_held_out_comments_keep_their_measured_precision_and_recall(name):
    """A rule change may not lower recall or the right complaint verdicts on a held-out file, nor
    bring precision under 90 %."""
    held_out = yaml.safe_load((HERE / name).read_text(encoding="utf-8"))
    tally = precision_recall(held_out)
    tp = sum(tally[code][0] for code in TAXONOMY[:-1])
    fp = sum(tally[code][1] for code in TAXONOMY[:-1])
    fn = sum(tally[code][2] for code in TAXONOMY[:-1])
    verdicts = sum(
        found(e["text"])[code] == negative
        for e in held_out
        for code, negative in e["themes"].items()
        if code != "other" and code in found(e["text"])
    )
    measured_tp, _fp, measured_fn, measured_verdicts = HELD_OUT[name]
    assert tp + fn == measured_tp + measured_fn  # the file is unchanged
    assert tp / (tp + fp) >= 0.90, tally
    assert tp >= measured_tp and verdicts >= measured_verdicts, (tp, fp, fn, verdicts, tally)
