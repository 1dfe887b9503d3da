"""``python -m analysis estimate``: R parity through the command line, and its error handling.

Each reference case runs once as a real subprocess (``--ci beta`` with its
domains); every other case × variable × interval method × df combination
runs through the same entry point in-process (``analysis.cli.main``), which
keeps the suite fast without skipping a combination.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from analysis import cli

from . import results_r
from .reference_data import REFERENCE_DATA, REPO_ROOT
from .test_r_parity import by_variables, close

CASES = tuple(results_r.CASES)
VARIABLES = ("y_sw", "y_aw", "y_hi")


def case_arguments(case, variable):
    """CLI arguments of a case, with totals files given by absolute path."""
    spec = results_r.CASES[case]
    arguments = [str(REFERENCE_DATA / spec["data"]), "--y", variable]
    for item in spec["cli"]:
        if "=" in item and item.endswith(".csv"):
            variables, name = item.split("=", 1)
            item = f"{variables}={REFERENCE_DATA / name}"
        arguments.append(item)
    return arguments


def run_subprocess(arguments):
    return subprocess.run(
        [sys.executable, "-m", "analysis", *arguments],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def run_in_process(arguments, capsys):
    status = cli.main(["estimate", *arguments])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return json.loads(captured.out)


def compare_whole(case, variable, row, method, df):
    expected = results_r.VALUES[case][(variable, None, None)]
    suffix = "" if df == "design" else "_dfInf"
    failures = []
    pairs = {
        f"ci_{method}{suffix}_lo": row["ci_low"],
        f"ci_{method}{suffix}_hi": row["ci_high"],
    }
    if method == "beta":
        pairs.update(
            {
                "mean": row["estimate"],
                "se": row["se"],
                "var": row["var"],
                "deff_wor": row["deff"],
                "deff_replace": row["deff_replace"],
                "n_eff_p(1-p)/var": row["n_eff"],
                "degf": row["design_df"],
            }
        )
    for statistic, ours in pairs.items():
        value = expected[statistic]
        if not math.isfinite(value):
            if "deff" in statistic:
                ok = ours is None
            else:
                ok = ours is not None and 0 <= ours <= 1 and row["note"] is not None
        else:
            ok = ours is not None and close(ours, value, case, statistic)
        if not ok:
            failures.append((statistic, value, ours))
    assert row["domain"] is None
    assert row["ci_method"] == method
    return failures


def compare_domains(case, variable, by, rows, method):
    failures = []
    domains = sorted(d for (v, b, d) in results_r.VALUES[case] if v == variable and b == by)
    assert [row["domain"] for row in rows] == sorted(row["domain"] for row in rows)
    assert sorted(row["domain"] for row in rows) == domains
    for row in rows:
        expected = results_r.VALUES[case][(variable, by, row["domain"])]
        pairs = {f"ci_{method}_lo": row["ci_low"], f"ci_{method}_hi": row["ci_high"]}
        if method == "beta":
            pairs.update({"mean": row["estimate"], "se": row["se"], "n": row["n"], "deff_wor": row["deff"]})
        for statistic, ours in pairs.items():
            value = expected[statistic]
            if not math.isfinite(value):
                if "deff" in statistic:
                    ok = ours is None
                else:
                    ok = 0 <= row["ci_low"] <= row["ci_high"] <= 1 and row["note"] is not None
            else:
                ok = ours is not None and close(ours, value, case, statistic)
            if not ok:
                failures.append((row["domain"], statistic, value, ours))
    return failures


def subprocess_arguments(case):
    variable = "y_sw" if case != "d1t_rake_tight" else "y_hi"
    arguments = ["estimate", *case_arguments(case, variable), "--ci", "beta"]
    bys = by_variables(case)
    if bys:
        arguments += ["--by", bys[0]]
    return variable, bys[0] if bys else None, arguments


@pytest.fixture(scope="module")
def subprocess_results():
    """Run one real ``python -m analysis`` per case, all started at once."""
    processes = {}
    for case in CASES:
        _, _, arguments = subprocess_arguments(case)
        processes[case] = subprocess.Popen(
            [sys.executable, "-m", "analysis", *arguments],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    results = {}
    for case, process in processes.items():
        stdout, stderr = process.communicate(timeout=120)
        results[case] = (process.returncode, stdout, stderr)
    return results


@pytest.mark.parametrize("case", CASES)
def test_subprocess_matches_r(case, subprocess_results):
    """One real process per case: whole sample and its first domain variable, R's beta."""
    variable, by, _ = subprocess_arguments(case)
    returncode, stdout, stderr = subprocess_results[case]
    assert returncode == 0, stderr
    assert stderr == ""
    rows = json.loads(stdout)["estimates"]
    failures = compare_whole(case, variable, rows[0], "beta", "design")
    if by:
        failures += compare_domains(case, variable, by, rows[1:], "beta")
    else:
        assert len(rows) == 1
    assert not failures, failures[:10]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("variable", VARIABLES)
def test_cli_every_method_matches_r(case, variable, capsys):
    failures = []
    for method in ("beta", "xlogit", "wilson", "mean", "asin"):
        dfs = ("design",) if method == "beta" else ("design", "inf")
        for df in dfs:
            arguments = case_arguments(case, variable) + ["--ci", method, "--df", df]
            rows = run_in_process(arguments, capsys)["estimates"]
            failures += compare_whole(case, variable, rows[0], method, df)
    for by in by_variables(case):
        for method in ("beta", "xlogit", "wilson"):
            arguments = case_arguments(case, variable) + ["--ci", method, "--by", by]
            rows = run_in_process(arguments, capsys)["estimates"]
            failures += compare_whole(case, variable, rows[0], method, "design")
            failures += compare_domains(case, variable, by, rows[1:], method)
    assert not failures, failures[:10]


def test_default_interval_and_status(capsys):
    arguments = case_arguments("a_strat_fpc", "y_sw")
    row = run_in_process(arguments, capsys)["estimates"][0]
    assert row["ci_method"] == "wilson-cc-kish"
    assert row["status"] == "inconclusive"
    assert row["target"] == 0.8
    expected_keys = {
        "domain",
        "n",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "ci_method",
        "df",
        "deff",
        "deff_replace",
        "n_eff",
        "target",
        "status",
    }
    assert expected_keys <= set(row)
    row = run_in_process(arguments + ["--target", "0.7"], capsys)["estimates"][0]
    assert row["status"] == "met"
    row = run_in_process(arguments + ["--target", "0.9"], capsys)["estimates"][0]
    assert row["status"] == "below"


def test_insufficient_domains_keep_their_numbers(capsys):
    arguments = case_arguments("b_strat_nofpc", "y_sw") + ["--by", "cname"]
    rows = run_in_process(arguments, capsys)["estimates"][1:]
    small = [row for row in rows if row["n"] < 30]
    assert small
    for row in small:
        assert row["status"] == "insufficient"
        assert row["publishable"] is False
        assert row["estimate"] is not None and 0 <= row["ci_low"] <= row["ci_high"] <= 1


def test_help_explains_options():
    completed = run_subprocess(["estimate", "--help"])
    assert completed.returncode == 0
    for word in ("--poststratify", "--rake", "wilson-kish", "insufficient", "Kish", "--df"):
        assert word in completed.stdout


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


GOOD = "id,y,w,h,unit\n1,1,2,a,u\n2,0,2,a,u\n3,1,3,b,v\n4,1,3,b,v\n"


@pytest.mark.parametrize(
    ("content", "options", "fragment"),
    [
        (GOOD, ["--y", "missing"], "column 'missing' not found"),
        (GOOD.replace("1,1,2,a", "1,1,0,a"), ["--y", "y", "--weights", "w"], "must be > 0"),
        (GOOD.replace("1,1,2,a", "1,1,-1,a"), ["--y", "y", "--weights", "w"], "must be > 0"),
        (GOOD.replace("1,1,2,a", "1,1,,a"), ["--y", "y", "--weights", "w"], "missing value"),
        (GOOD.replace("1,1,2,a", "1,2,2,a"), ["--y", "y"], "must be 0 or 1"),
        (GOOD.replace("1,1,2,a", "1,yes,2,a"), ["--y", "y"], "non-number"),
        (GOOD.replace("2,0,2,a", "2,0,2,b"), ["--y", "y", "--strata", "h"], "only one PSU"),
        (GOOD, ["--y", "y", "--ci", "nonsense"], "invalid choice"),
        (GOOD, ["--y", "y", "--df", "many"], "df must be"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, content, options, fragment):
    data = write(tmp_path / "data.csv", content)
    status = cli.main(["estimate", data, *options])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert fragment in lines[0]


def test_bad_input_in_a_real_process(tmp_path):
    """The process boundary: exit status 2, one line on stderr, no traceback."""
    data = write(tmp_path / "data.csv", GOOD.replace("1,1,2,a", "1,1,0,a"))
    completed = run_subprocess(["estimate", data, "--y", "y", "--weights", "w"])
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert len(completed.stderr.strip().splitlines()) == 1
    assert "Traceback" not in completed.stderr
    assert "must be > 0" in completed.stderr


@pytest.mark.parametrize(
    ("totals", "fragment"),
    [
        ("h,Freq\na,10\n", "no population total for category 'b'"),
        ("h,Freq\na,10\nb,10\nc,5\n", "no response in the sample"),
        ("h,count\na,10\nb,10\n", "Freq or total"),
        ("k,Freq\na,10\nb,10\n", "no column 'h'"),
    ],
)
def test_totals_that_do_not_cover_the_sample(tmp_path, capsys, totals, fragment):
    data = write(tmp_path / "data.csv", GOOD)
    pop = write(tmp_path / "pop.csv", totals)
    status = cli.main(["estimate", data, "--y", "y", "--weights", "w", "--poststratify", f"h={pop}"])
    captured = capsys.readouterr()
    assert status == 2
    assert len(captured.err.strip().splitlines()) == 1
    assert fragment in captured.err


def test_inconsistent_rake_margins(tmp_path, capsys):
    data = write(tmp_path / "data.csv", GOOD)
    pop_h = write(tmp_path / "h.csv", "h,Freq\na,10\nb,10\n")
    pop_unit = write(tmp_path / "unit.csv", "unit,total\nu,10\nv,30\n")
    status = cli.main(["estimate", data, "--y", "y", "--rake", f"h={pop_h}", "--rake", f"unit={pop_unit}"])
    assert status == 2
    assert "inconsistent" in capsys.readouterr().err


def test_missing_file(capsys):
    assert cli.main(["estimate", "/nonexistent/data.csv", "--y", "y"]) == 2
    assert "cannot read" in capsys.readouterr().err
