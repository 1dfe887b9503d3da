"""The CLI's fast CSV reader (pandas' C parser) against its reference (the ``csv`` module).

For every file below, ``python -m analysis estimate`` must print exactly what
it prints when the reference reader reads the file: the same JSON, or the same
one-line error with exit status 2.  Well-formed files must take the fast path
(otherwise the million-row benchmark would silently fall back to the slow one).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from analysis import cli
from analysis._checks import factorize

HEADER = "id,y,w,h,unit\n"
ROWS = "1,1,2,a,u\n2,0,2,a,u\n3,1,3,b,v\n4,1,3,b,v\n5,0,2.5,a,v\n6,1,3,b,u\n"
OPTIONS = ["--y", "y", "--weights", "w", "--strata", "h", "--by", "unit"]

# Files the fast reader reads itself: (content, options).
WELL_FORMED = {
    "plain": (HEADER + ROWS, OPTIONS),
    "crlf": ((HEADER + ROWS).replace("\n", "\r\n"), OPTIONS),
    "bom": ("\ufeff" + HEADER + ROWS, OPTIONS),
    "no final newline": (HEADER + ROWS.rstrip("\n"), OPTIONS),
    "blank lines": (HEADER + ROWS.replace("3,1,3", "\n3,1,3") + "\n\n", OPTIONS),
    "blank CRLF lines": ((HEADER + ROWS.replace("3,1,3", "\n3,1,3") + "\n\n").replace("\n", "\r\n"), OPTIONS),
    "line end inside a quoted label": (
        HEADER + ROWS.replace(",u\n", ',"u\nx"\n').replace(",v\n", ',"v\r\nw"\n'),
        OPTIONS,
    ),
    "quoted fields": (
        '"id","y","w","h","unit"\n'
        + "".join(
            f'"{r[0]}",{r[1]},"{r[2]}","{r[3]}, x","{r[4]} ""q"""\n'
            for r in (line.split(",") for line in ROWS.splitlines())
        ),
        OPTIONS,
    ),
    "leading zeros stay text": (HEADER + ROWS.replace(",a,", ",01,").replace(",b,", ",1,"), OPTIONS),
    "spaces around labels and numbers": (HEADER + ROWS.replace(",a,u", ", a ,u").replace(",2,", ", 2 ,"), OPTIONS),
    "numbers written differently": (HEADER + ROWS.replace("2.5", "25e-1").replace("1,1,2", "1,1.0,+2"), OPTIONS),
    "hard-to-round weights": (
        HEADER
        + ROWS.replace("1,1,2,", "1,1,1.000000000000000111022302462515654042363166809082031250001,")
        .replace("2,0,2,", "2,0,0.1000000000000000055511151231257827021181583404541015625,")
        .replace("3,1,3,", "3,1,9007199254740993e-15,"),
        OPTIONS,
    ),
    "non-ASCII labels": (HEADER + ROWS.replace(",u\n", ",Mường La\n"), OPTIONS),
    "extra unused columns": (
        "note,id,y,w,h,unit,other\n" + "".join(f"x,{line},z\n" for line in ROWS.splitlines()),
        OPTIONS,
    ),
}

# Files only the reference reader can judge (all are errors but the last two).
NEEDS_REFERENCE = {
    "ragged: long line": (HEADER + ROWS + "7,1,2,a,u,extra\n", OPTIONS),
    "ragged: short line": (HEADER + ROWS + "7,1,2,a\n", OPTIONS),
    "ragged: whitespace-only line": (HEADER + ROWS + "   \n", OPTIONS),
    "ragged: whitespace-only CRLF line": ((HEADER + ROWS + "   \n" + ROWS).replace("\n", "\r\n"), OPTIONS),
    "ragged: many lines later": (HEADER + ROWS * 500 + "7,1,2,a,u,\n" + ROWS * 500, OPTIONS),
    "TRUE is not a number": (HEADER + ROWS.replace("1,1,2", "1,TRUE,2"), OPTIONS),
    "False weight": (HEADER + ROWS.replace("1,1,2", "1,1,False"), OPTIONS),
    "missing number": (HEADER + ROWS.replace("1,1,2", "1,1,"), OPTIONS),
    "NA number": (HEADER + ROWS.replace("1,1,2", "1,1,NA"), OPTIONS),
    "infinite weight": (HEADER + ROWS.replace("1,1,2", "1,1,inf"), OPTIONS),
    "non-number": (HEADER + ROWS.replace("1,1,2", "1,yes,2"), OPTIONS),
    "y not 0/1": (HEADER + ROWS.replace("1,1,2", "1,2,2"), OPTIONS),
    "weight <= 0": (HEADER + ROWS.replace("1,1,2", "1,1,-2"), OPTIONS),
    "missing label": (HEADER + ROWS.replace(",a,u", ",,u"), OPTIONS),
    "NA label": (HEADER + ROWS.replace(",a,u", ", na ,u"), OPTIONS),
    "missing column": (HEADER + ROWS, ["--y", "y", "--strata", "stratum"]),
    "header only": (HEADER, OPTIONS),
    "empty file": ("", OPTIONS),
    "quote inside a field": (HEADER + ROWS.replace(",a,u", ',a"b,u'), OPTIONS),
    "one column with a blank-looking line": ("y\n1\n0\n \n1\n", ["--y", "y"]),
    "lone CR line ends": ((HEADER + ROWS).replace("\n", "\r"), OPTIONS),
    "same column as number and label": (HEADER + ROWS, ["--y", "y", "--by", "y"]),
}
READ_WITHOUT_ERROR = {"lone CR line ends", "same column as number and label"}


def run(path, options, capsys):
    status = cli.main(["estimate", str(path), *options])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def run_both(tmp_path, capsys, monkeypatch, content, options, encoding="utf-8"):
    path = tmp_path / "data.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    fast_used = []
    read_fast = cli._read_fast

    def spy(args):
        columns = read_fast(args)
        fast_used.append(columns is not None)
        return columns

    monkeypatch.setattr(cli, "_read_fast", spy)
    fast = run(path, options, capsys)
    monkeypatch.setattr(cli, "_read_fast", lambda args: None)
    reference = run(path, options, capsys)
    return fast, reference, fast_used == [True]


@pytest.mark.parametrize("name", sorted(WELL_FORMED))
def test_well_formed_files_take_the_fast_path_and_print_the_same(tmp_path, capsys, monkeypatch, name):
    content, options = WELL_FORMED[name]
    fast, reference, used_fast = run_both(tmp_path, capsys, monkeypatch, content, options)
    assert reference[0] == 0, reference[2]
    assert used_fast
    assert fast == reference


@pytest.mark.parametrize("name", sorted(NEEDS_REFERENCE))
def test_doubtful_files_are_judged_by_the_reference_reader(tmp_path, capsys, monkeypatch, name):
    content, options = NEEDS_REFERENCE[name]
    fast, reference, used_fast = run_both(tmp_path, capsys, monkeypatch, content, options)
    assert not used_fast
    assert fast == reference
    status, out, err = fast
    if name in READ_WITHOUT_ERROR:
        assert status == 0, err
    else:
        assert status == 2 and out == ""
        assert len(err.strip().splitlines()) == 1 and err.startswith("analysis: error: ")


def test_not_utf8_is_reported_by_the_reference(tmp_path, capsys, monkeypatch):
    content = (HEADER + ROWS).encode() + b"7,1,2,a,\xff\n"
    fast, reference, used_fast = run_both(tmp_path, capsys, monkeypatch, content, OPTIONS)
    assert not used_fast
    assert fast == reference
    assert fast[0] == 2 and "as UTF-8 CSV" in fast[2]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (HEADER + ROWS + "7,1,2,a,u,extra\n", "line 8 has 6 fields, the header has 5"),
        (HEADER + ROWS + "7,1,2,a\n", "line 8 has 4 fields, the header has 5"),
        (HEADER + ROWS.replace("1,1,2", "1,TRUE,2"), "non-number 'TRUE' on line 2"),
        (HEADER + ROWS.replace("3,1,3", "3,1,"), "missing value on line 4"),
        ("", "is empty"),
        (HEADER, "has no data rows"),
    ],
)
def test_errors_keep_their_line_numbers(tmp_path, capsys, content, fragment):
    path = tmp_path / "data.csv"
    path.write_text(content, encoding="utf-8")
    status, out, err = run(path, OPTIONS, capsys)
    assert status == 2 and out == ""
    assert fragment in err


def test_labels_that_look_like_numbers_stay_text(tmp_path, capsys):
    path = tmp_path / "data.csv"
    rows = "".join(f"{k},{k % 2},1,{'01' if k < 40 else '1'}\n" for k in range(80))
    path.write_text("id,y,w,unit\n" + rows, encoding="utf-8")
    status, out, err = run(path, ["--y", "y", "--by", "unit"], capsys)
    assert status == 0, err
    domains = [row["domain"] for row in json.loads(out)["estimates"][1:]]
    assert domains == ["01", "1"]


def test_factorize_hashes_text_labels_like_np_unique():
    rng = np.random.default_rng(7)
    labels = np.array([f"{k:0{k % 3 + 1}d}" for k in rng.integers(0, 500, size=5000)], dtype=object)
    codes, distinct = factorize(labels, "labels")
    expected_distinct, expected_codes = np.unique(labels, return_inverse=True)
    assert distinct.tolist() == expected_distinct.tolist()
    assert np.array_equal(codes, expected_codes)
    with pytest.raises(ValueError, match="missing value"):
        factorize(np.array(["a", None], dtype=object), "labels")
    mixed_codes, mixed = factorize(np.array([2, "a", 2], dtype=object), "labels")
    assert mixed.tolist() == ["2", "a"] and mixed_codes.tolist() == [0, 1, 0]
