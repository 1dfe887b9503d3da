"""Measure the personal-data masker (surveys/pii.py) on its labelled corpus (issue #16).

    python bench/pii_bench.py                 # print the numbers
    python bench/pii_bench.py --write-readme  # and write them into bench/README.md

For the tuning part (tests/surveys/pii_corpus_labelled.yaml) and the held-out part written
before tuning (tests/surveys/pii_corpus_heldout.yaml), with the full masker and with the
rule-only masker (``mask_personal_data(text, ner=False)``, the baseline) in the same run:

* recall: pieces of personal data fully masked / all pieces;
* harmless words kept: words outside the labelled pieces left untouched / all such words
  (tests/surveys/pii_labelled.py defines both);
* speed: comments per second over the whole corpus (best of ``--rounds``, rounds interleaved
  so that load from other processes affects both alike), the first call of the process (which
  loads underthesea's model) timed apart, and one 100 KB text made of the corpus.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from surveys.pii import mask_personal_data  # noqa: E402
from tests.surveys.pii_labelled import HELD_OUT, TUNING, load, score  # noqa: E402

README_BEGIN = "<!-- pii_bench: begin -->"
README_END = "<!-- pii_bench: end -->"
MASKERS = {
    "rules only (baseline)": lambda text: mask_personal_data(text, ner=False),
    "rules + underthesea NER": mask_personal_data,
}


def cpu_model() -> str:
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def measure(rounds: int) -> dict:
    parts = {"tuning": load(TUNING), "held-out": load(HELD_OUT)}
    texts = [comment.text for part in parts.values() for comment in part]
    big = (" ".join(texts) * 50)[:100_000]
    result: dict = {"comments": {name: len(part) for name, part in parts.items()}, "speed": {}, "scores": {}}
    for name, mask in MASKERS.items():  # rules first: the recogniser is not loaded yet
        start = time.perf_counter()
        mask("Hôm đó Tuấn ở quầy 3 rất nhiệt tình.")  # a word only the recogniser can place
        result.setdefault("first_call", {})[name] = time.perf_counter() - start
    for name, mask in MASKERS.items():
        result["scores"][name] = {part: score(comments, mask) for part, comments in parts.items()}
    from surveys.pii import _ner_cached

    _ner_cached.cache_clear()  # the scoring above filled the recogniser's per-sentence cache
    times: dict[str, list[float]] = {name: [] for name in MASKERS}
    big_best = {name: float("inf") for name in MASKERS}
    for _ in range(rounds):
        for name, mask in MASKERS.items():
            start = time.perf_counter()
            for text in texts:
                mask(text)
            times[name].append(time.perf_counter() - start)
            start = time.perf_counter()
            mask(big)
            big_best[name] = min(big_best[name], time.perf_counter() - start)
    for name in MASKERS:
        result["speed"][name] = (len(texts) / times[name][0], len(texts) / min(times[name]), big_best[name])
    return result


def report(result: dict, machine: str, command: str) -> list[str]:
    n = result["comments"]
    lines = [
        "## Personal-data masker",
        "",
        f"**Machine:** {machine}. **Date:** {datetime.date.today():%d %b %Y}. **Command:** `{command}`.",
        "",
        f"Corpus: {n['tuning'] + n['held-out']} made-up comments with their personal data labelled "
        f"(`tests/surveys/pii_corpus_labelled.yaml`, {n['tuning']} comments, used for tuning; "
        f"`tests/surveys/pii_corpus_heldout.yaml`, {n['held-out']} comments written before tuning: "
        "its row is the honest number). Thái, Mông and Kinh names with and without honorifics, "
        'after titles and after "tên"; Sơn La place names that look like names; offices; every '
        "phone, ID and e-mail spelling of the issue; many comments without personal data. Aim: "
        "recall ≥ 99 %, harmless words kept ≥ 95 % (`tests/surveys/test_pii_corpus.py` enforces both).",
        "",
        "| masker | part | recall (pieces fully masked) | harmless words kept |",
        "|---|---|---|---|",
    ]
    for name, parts in result["scores"].items():
        for part, s in parts.items():
            lines.append(
                f"| {name} | {part} | {s.masked}/{s.pieces} = **{s.recall:.1%}** | "
                f"{s.kept}/{s.words} = {s.kept_share:.1%} |"
            )
    lines += [
        "",
        "Honest number: the held-out part was first measured before any of its comments had been "
        "looked at: recall 62/63 = **98.4 %**, harmless words kept 1004/1011 = 99.3 % (1007/1011 "
        "after fixes made on the tuning part alone). Then its misses were read: the one leak "
        '("Bạc Cầm Sơn": a family name that was also in the office-word list) and two lost words '
        '("Vân Hồ": a bug in the list of known places) were fixed as general bugs, so the held-out '
        "rows above are no longer blind. The two words it still loses are a hotline after "
        '"đường dây nóng" ("1900 1234"), masked by design. The rule-only baseline has every '
        'new rule ("tên", family names, titles, numbers, e-mails); it misses the 9 names only the '
        "recogniser places (the last 10 comments of the tuning part, written for that).",
        "",
        "| masker | comments / s, first round (empty cache) | comments / s, best round | one 100 KB text "
        "(best) | first call of a process |",
        "|---|---|---|---|---|",
    ]
    for name, (first, best, big) in result["speed"].items():
        lines.append(f"| {name} | {first:,.0f} | {best:,.0f} | {big:.2f} s | {result['first_call'][name]:.2f} s |")
    lines += [
        "",
        "The first call with the recogniser imports underthesea and loads its CRF model (shipped in "
        "the package, no download) once per process; its answers are cached per sentence (4,096 "
        "sentences), so later rounds over the same comments are faster. It reads only the sentences "
        "around capitalised words the rules cannot place (at most 200 calls per text; beyond, "
        "such words are masked).",
    ]
    return lines


def write_readme(lines: list[str]) -> None:
    readme = Path(__file__).resolve().parent / "README.md"
    text = readme.read_text(encoding="utf-8")
    block = "\n".join([README_BEGIN, *lines, README_END])
    if README_BEGIN in text:
        before, rest = text.split(README_BEGIN, 1)
        text = before + block + rest.split(README_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    readme.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (best is reported)")
    parser.add_argument("--write-readme", action="store_true", help="write the result in bench/README.md")
    args = parser.parse_args(argv)
    import underthesea

    machine = (
        f"{cpu_model()}, {os.cpu_count()} cores, shared with other workers; Python "
        f"{platform.python_version()}, underthesea {underthesea.__version__}"
    )
    command = "python bench/pii_bench.py" + (" --write-readme" if args.write_readme else "")
    lines = report(measure(args.rounds), machine, command)
    print("\n".join(lines))
    if args.write_readme:
        write_readme(lines)


if __name__ == "__main__":
    main()
