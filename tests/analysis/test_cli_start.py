"""Start-up of ``analysis`` and of its command line (issue #18).

``import analysis`` is lazy (PEP 562): every public name still resolves to
the object its module defines, but scipy and pandas are loaded only when a
function that needs them is used.  The command line passes its label columns
to the engine as integer codes and maps them back, so its output and its
error messages name labels exactly as they are written in the file.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

import analysis
from analysis import cli

from .reference_data import REPO_ROOT
from .test_cli_reader import HEADER, OPTIONS, ROWS, run, run_both


def run_python(code):
    completed = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_importing_analysis_loads_neither_scipy_nor_pandas():
    out = run_python(
        "import sys, analysis\n"
        "print(sorted(m for m in ('scipy', 'scipy.special', 'pandas') if m in sys.modules))\n"
        "analysis.proportion_ci(0.9, 0.0004, 100)\n"
        "print('scipy.special' in sys.modules, 'pandas' in sys.modules)\n"
    )
    assert out.splitlines() == ["[]", "True False"]


@pytest.mark.parametrize("name", analysis.__all__)
def test_every_public_name_is_the_object_of_its_module(name):
    value = getattr(analysis, name)
    defined_in = importlib.import_module(f"analysis.{analysis._MODULE_OF[name]}")
    assert value is getattr(defined_in, name)
    assert name in dir(analysis)


def test_names_and_modules_resolve_as_before():
    from analysis import DEFAULT_CI_METHOD, estimate_proportion

    assert estimate_proportion is analysis.estimate_proportion
    assert DEFAULT_CI_METHOD in analysis.CI_METHODS
    assert "met" in analysis.status.STATUSES  # a submodule through the package, as the web app uses it
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        analysis.not_a_name  # noqa: B018
    namespace = {}
    exec("from analysis import *", namespace)
    assert set(analysis.__all__) <= set(namespace)


def test_domains_come_out_as_written_and_sorted_as_text(tmp_path, capsys):
    path = tmp_path / "data.csv"
    labels = ["9", "10", "01", "1", " x"]
    rows = "".join(f"{k},{k % 2},{1 + k % 3},{labels[k % 5]}\n" for k in range(200))
    path.write_text("id,y,w,unit\n" + rows, encoding="utf-8")
    status, out, err = run(path, ["--y", "y", "--weights", "w", "--by", "unit"], capsys)
    assert status == 0, err
    estimates = json.loads(out)["estimates"]
    assert [row["domain"] for row in estimates[1:]] == ["01", "1", "10", "9", "x"]
    assert [row["n"] for row in estimates[1:]] == [40, 40, 40, 40, 40]


def test_an_error_names_the_stratum_as_written(tmp_path, capsys, monkeypatch):
    path = tmp_path / "data.csv"
    rows = "".join(f"{k},{k % 2},{'07' if k == 0 else 'a'},{k}\n" for k in range(60))
    path.write_text("id,y,h,cluster\n" + rows, encoding="utf-8")
    options = ["--y", "y", "--strata", "h", "--psu", "cluster"]
    fast = run(path, options, capsys)
    monkeypatch.setattr(cli, "_read_fast", lambda args: None)
    assert fast == run(path, options, capsys)
    status, out, err = fast
    assert status == 2 and out == ""
    assert "stratum '07' has only one PSU" in err


# The last column is not used, so pandas would pad a short line or cut a long one without a word.
WIDE = HEADER.replace("\n", ",note\n") + ROWS.replace("\n", ",z\n")


@pytest.mark.parametrize(
    "content",
    [
        # One field too many and one too few: as many commas in all as a regular file.
        WIDE.replace("1,1,2,a,u,z", "1,1,2,a,u,z,extra").replace("2,0,2,a,u,z", "2,0,2,a,u"),
        # A short line and a blank line: as many separators in all as a regular file.
        WIDE.replace("2,0,2,a,u,z", "2,0,2,a,u\n"),
    ],
)
def test_ragged_lines_that_balance_out_are_still_judged_by_the_reference(tmp_path, capsys, monkeypatch, content):
    fast, reference, used_fast = run_both(tmp_path, capsys, monkeypatch, content, OPTIONS)
    assert not used_fast
    assert fast == reference
    assert fast[0] == 2 and "fields, the header has 6" in fast[2]


def test_the_command_reads_a_well_formed_file_without_loading_pandas(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text(HEADER + ROWS * 20, encoding="utf-8")
    out = run_python(
        "import io, sys, contextlib\n"
        "from analysis import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    status = cli.main(['estimate', {str(path)!r}, *{OPTIONS!r}])\n"
        "print(status, 'pandas' in sys.modules)\n"
    )
    assert out.split() == ["0", "False"]


def test_labels_split_over_many_blocks_of_the_parser_are_coded_as_one_column(tmp_path, capsys, monkeypatch):
    # Each block the parser reads in parallel has its own dictionary of labels; they must be merged.
    labels = ["b", " a", "10", "9", "a ", "Mường La", "c"]
    rows = "".join(f"{k},{k % 2},{1 + k % 4},{labels[(k * 7) % 5 + k % 3]},{labels[k % 7]}\n" for k in range(3000))
    monkeypatch.setattr(cli, "_BLOCK_SIZE", 1 << 10)
    fast, reference, used_fast = run_both(tmp_path, capsys, monkeypatch, HEADER + rows, OPTIONS)
    assert used_fast
    assert fast == reference
    assert [row["domain"] for row in json.loads(fast[1])["estimates"][1:]] == ["10", "9", "Mường La", "a", "b", "c"]


def test_help_loads_no_statistics_library():
    out = run_python(
        "import contextlib, io, sys\n"
        "from analysis import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()) as text, contextlib.suppress(SystemExit):\n"
        "    cli.main(['estimate', '--help'])\n"
        "assert 'wilson-cc-kish' in text.getvalue() and 'n < 30' in text.getvalue()\n"
        "print(sorted(m for m in ('scipy', 'pandas', 'pyarrow') if m in sys.modules))\n"
    )
    assert out.split() == ["[]"]


def test_quoted_labels_with_line_ends_over_many_blocks_read_as_the_reference_reads_them(tmp_path, capsys, monkeypatch):
    labels = ['"a\nb"', '"a, b"', "a", '"say ""hi"""', '" a"']
    rows = "".join(f"{k},{k % 2},{1 + k % 4},{labels[k % 4]},{labels[(k * 3) % 5]}\n" for k in range(2000))
    monkeypatch.setattr(cli, "_BLOCK_SIZE", 1 << 10)
    fast, reference, used_fast = run_both(tmp_path, capsys, monkeypatch, HEADER + rows, OPTIONS)
    assert used_fast
    assert fast == reference
    assert [row["domain"] for row in json.loads(fast[1])["estimates"][1:]] == ["a", "a\nb", "a, b", 'say "hi"']
