"""Read the reference inputs in ``tests/analysis/data`` and build each case's design.

``data/README.md`` says where the files come from (R's ``survey`` package and
its ``api`` data sets) and under which licence; ``results_r.py`` holds the
expected numbers.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

import numpy as np

import analysis

REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE_DATA = Path(__file__).resolve().parent / "data"
VARIABLES = ("y_sw", "y_aw", "y_hi")


@functools.cache
def read_table(name: str) -> dict:
    """Columns of a reference CSV as {name: list of strings}."""
    with open(REFERENCE_DATA / name, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {key: [row[key] for row in rows] for key in rows[0]}


def column(data: dict, name: str, kind=str) -> np.ndarray:
    values = data[name]
    if kind is float:
        return np.array([float(v) for v in values])
    return np.array(values, dtype=object)


def totals(name: str) -> dict:
    """A pop_*.csv file as {category or tuple: Freq}."""
    table = read_table(name)
    keys = [k for k in table if k != "Freq"]
    out = {}
    for index, frequency in enumerate(table["Freq"]):
        key = tuple(table[k][index] for k in keys)
        out[key if len(key) > 1 else key[0]] = float(frequency)
    return out


@functools.cache
def case_design(case: str) -> dict:
    """Keyword arguments of :func:`analysis.estimate_proportion` for a case (without y)."""
    if case == "f_clus1":
        data = read_table("input_apiclus1.csv")
        return {
            "weights": column(data, "pw", float),
            "psu": column(data, "dnum"),
            "fpc": column(data, "fpc", float),
        }
    data = read_table("input_apistrat.csv")
    stype = column(data, "stype")
    pw = column(data, "pw", float)
    w_eq = column(data, "w_eq", float)
    if case == "a_strat_fpc":
        return {"weights": pw, "strata": stype, "fpc": column(data, "fpc", float)}
    if case == "b_strat_nofpc":
        return {"weights": pw, "strata": stype}
    if case == "c0_unstrat_equal_w":
        return {"weights": w_eq}
    if case == "e_srs_unweighted":
        return {}
    if case == "c1_poststrat_stype":
        return {"calibration": analysis.poststratify(w_eq, stype, totals("pop_stype.csv"))}
    if case == "c3_poststrat_stype_x_compimp":
        cells = [stype, column(data, "comp.imp")]
        return {"calibration": analysis.poststratify(w_eq, cells, totals("pop_stype_x_compimp.csv"))}
    margins = {
        "stype": (stype, totals("pop_stype.csv")),
        "sch.wide": (column(data, "sch.wide"), totals("pop_schwide.csv")),
        "comp.imp": (column(data, "comp.imp"), totals("pop_compimp.csv")),
    }
    if case == "d1t_rake_tight":
        used = ["stype", "sch.wide"]
        calibration = analysis.rake(pw, [margins[m][0] for m in used], [margins[m][1] for m in used], names=used)
        return {"strata": stype, "calibration": calibration}
    if case == "d3_rake3_equalw":
        used = ["stype", "sch.wide", "comp.imp"]
        calibration = analysis.rake(w_eq, [margins[m][0] for m in used], [margins[m][1] for m in used], names=used)
        return {"calibration": calibration}
    raise KeyError(case)


def case_data(case: str) -> dict:
    return read_table("input_apiclus1.csv" if case == "f_clus1" else "input_apistrat.csv")


def final_weights(case: str) -> np.ndarray:
    design = case_design(case)
    if "calibration" in design:
        return design["calibration"].weights
    if "weights" in design:
        return design["weights"]
    return np.ones(len(case_data(case)["id"]))
