"""Command line: ``python -m analysis estimate DATA.csv --y COLUMN ...``.

Reads a CSV, estimates a weighted proportion for the whole sample and (with
``--by``) for each domain, and prints one JSON document.  Bad input exits with
status 2 and one line on stderr.

Two readers give the same columns.  pandas' C parser reads a well-formed file
(the usual case, and the fast one: a million rows in a fraction of a second);
label columns are read as text, so a stratum "01" stays distinct from "1".
The standard library's ``csv`` reader is the reference: whenever the fast
reader cannot vouch that the file is one the reference reads without error
(a ragged or blank-but-not-empty line, a missing or non-numeric value, a y
that is not 0/1, a weight <= 0, bytes that are not UTF-8, a "TRUE" that
pandas would take for 1...), the file is read again by the reference, which
reports the problem with its line number exactly as before.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import io
import json
import math
import sys

import numpy as np

from .intervals import CI_METHODS, DEFAULT_CI_METHOD
from .status import DEFAULT_TARGET, MIN_N_PUBLISH

DESCRIPTION = """\
Estimate the proportion of satisfied respondents (y = 1) from survey data,
with a design-based standard error, confidence interval and status against a
target, for the whole sample and, with --by, for each domain.  Results match
R's survey package (svydesign / svymean / svyby / svyciprop).
"""

EPILOG = f"""\
design:
  Without design options every response has weight 1 and there is one
  stratum (simple random sampling).  --strata and --psu give a stratified
  and/or clustered design (PSUs nested in strata); each response is its own
  PSU when --psu is absent.  --fpc is the population size of each stratum
  (or the sampling fraction, if all values are <= 1).

weighting:
  --poststratify stype=pop.csv    post-stratify to the totals in pop.csv
  --poststratify a,b=pop_ab.csv   post-stratify to cells of a x b
  --rake a=pop_a.csv --rake b=pop_b.csv
                                  rake to several margins until no cell total
                                  changes by more than 1e-12 of the total
  A totals file has the variable column(s) then one total column named Freq
  or total.  Every category in the data needs a total.  The variance is then
  the calibration (residual) variance, as R's postStratify/rake.

intervals (--ci):
  wilson-cc-kish (default) Wilson score interval on the effective sample
             size floored at Kish's, with Yates' continuity correction on the
             bound nearer 0 or 1; keeps each tail's error at most 2.5% near
             100% satisfaction
  wilson-kish  the same without the continuity correction
  beta-kish  Korn-Graubard with the same floor (more conservative)
  beta       R's svyciprop(method="beta"), Korn-Graubard
  xlogit     Wald interval on the logit scale (R's "xlogit"/"logit")
  wilson     Wilson score interval with the effective sample size
  mean       Wald interval (can leave [0, 1], as in R)
  asin       arcsine-square-root interval
  --df design uses each row's design degrees of freedom (PSUs minus strata
  with responses in that row); --df inf uses normal quantiles.
  When all answers in a row are equal (estimate 0 or 1) or the variance is
  zero, R gives no interval (NaN); this tool gives the exact bound from the
  Kish effective sample size and says so in "note".

output (JSON on stdout):
  {{"estimates": [whole sample, then one object per --by value, sorted]}}
  Each object: domain (null for the whole sample), n, estimate, se, var,
  ci_low, ci_high, ci_method, df (used by the interval; null = infinite),
  design_df, deff (R's deff=TRUE, null where undefined), deff_replace,
  n_eff = p(1-p)/var, n_kish, sum_w, target, status, publishable, note.
  status: met (lower bound > target), below (upper bound < target),
  inconclusive, or insufficient (n < {MIN_N_PUBLISH} or n_eff < {MIN_N_PUBLISH}).  Insufficient rows
  still carry their numbers for analysts; publishable is false and the
  public site shows only their count.

errors:
  A missing column, a weight that is missing or <= 0, a y that is not 0/1,
  a stratum with only one PSU, or totals that do not cover the data's
  categories: exit status 2 with one line on stderr.

example:
  python -m analysis estimate apistrat.csv --y y_sw --weights pw \\
      --strata stype --fpc fpc --by cname --ci beta
"""


class InputError(Exception):
    """Bad input: reported on one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit status 2
        raise InputError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m analysis", description="Survey statistics for the Sơn La Satisfaction Index.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    estimate = commands.add_parser(
        "estimate",
        help="estimate a weighted proportion (whole sample and domains)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    estimate.add_argument("data", metavar="DATA.csv", help="the responses, one row each, with a header row")
    estimate.add_argument("--y", required=True, metavar="COLUMN", help="0/1 outcome column (1 = satisfied)")
    estimate.add_argument("--weights", metavar="COLUMN", help="sampling weight column (> 0); default: all 1")
    estimate.add_argument("--strata", metavar="COLUMN", help="stratum column (e.g. the weighting cell)")
    estimate.add_argument("--psu", metavar="COLUMN", help="cluster (primary sampling unit) column")
    estimate.add_argument("--fpc", metavar="COLUMN", help="population size of the stratum (or sampling fraction)")
    estimate.add_argument("--by", metavar="COLUMN", help="estimate for each value of COLUMN too (domains)")
    estimate.add_argument(
        "--poststratify", metavar="VAR[,VAR...]=TOTALS.csv", help="post-stratify to population cell totals"
    )
    estimate.add_argument(
        "--rake", metavar="VAR=TOTALS.csv", action="append", default=[], help="raking margin (repeat for each margin)"
    )
    estimate.add_argument(
        "--ci",
        choices=CI_METHODS,
        default=DEFAULT_CI_METHOD,
        help=f"interval method (default {DEFAULT_CI_METHOD}; see below)",
    )
    estimate.add_argument("--df", default="design", help="degrees of freedom: design (default) or inf")
    estimate.add_argument("--alpha", type=float, default=0.05, help="1 - confidence level (default 0.05)")
    estimate.add_argument("--target", type=float, default=DEFAULT_TARGET, help="target proportion (default 0.8)")
    estimate.add_argument(
        "--lonely-psu",
        choices=("fail", "certainty", "adjust"),
        default="fail",
        help="a stratum with one PSU: fail (default, as R), certainty (no variance) or adjust",
    )
    return parser


def _read_csv(path):
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            try:
                header = next(reader)
            except StopIteration:
                raise InputError(f"{path} is empty") from None
            rows = [row for row in reader if row]
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"cannot read {path} as UTF-8 CSV: {error}") from None
    header = [name.strip() for name in header]
    for number, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise InputError(f"{path} line {number} has {len(row)} fields, the header has {len(header)}")
    return header, rows


def _column(header, rows, name, path):
    if name not in header:
        raise InputError(f"column {name!r} not found in {path} (columns: {', '.join(header)})")
    index = header.index(name)
    return [row[index].strip() for row in rows]


def _numbers(values, name, path):
    out = np.empty(len(values))
    for k, text in enumerate(values):
        if text == "" or text.upper() in ("NA", "NAN"):
            raise InputError(f"column {name!r} of {path} has a missing value on line {k + 2}")
        try:
            out[k] = float(text)
        except ValueError:
            raise InputError(f"column {name!r} of {path} has a non-number {text!r} on line {k + 2}") from None
        if not math.isfinite(out[k]):
            raise InputError(f"column {name!r} of {path} has a missing or infinite value on line {k + 2}")
    return out


def _labels(values, name, path):
    for k, text in enumerate(values):
        if text == "" or text.upper() == "NA":
            raise InputError(f"column {name!r} of {path} has a missing value on line {k + 2}")
    return np.array(values, dtype=object)


def _read_totals(spec, option):
    if "=" not in spec:
        raise InputError(f"{option} expects VAR=TOTALS.csv, got {spec!r}")
    variables_text, path = spec.split("=", 1)
    variables = [v.strip() for v in variables_text.split(",") if v.strip()]
    if not variables or not path:
        raise InputError(f"{option} expects VAR=TOTALS.csv, got {spec!r}")
    header, rows = _read_csv(path)
    total_names = [name for name in header if name.lower() in ("freq", "total")]
    if len(total_names) != 1:
        raise InputError(f"totals file {path} needs one column named Freq or total")
    for variable in variables:
        if variable not in header:
            raise InputError(f"totals file {path} has no column {variable!r}")
    keys = [_column(header, rows, variable, path) for variable in variables]
    values = _numbers(_column(header, rows, total_names[0], path), total_names[0], path)
    totals = {}
    for index, total in enumerate(values):
        key = tuple(column[index] for column in keys)
        totals[key if len(key) > 1 else key[0]] = total
    return variables, totals


class _ReferenceColumns:
    """The data file read with the ``csv`` module; every check reports its line."""

    def __init__(self, args):
        self.path = path = args.data
        self.header, self.rows = _read_csv(path)
        if not self.rows:
            raise InputError(f"{path} has no data rows")
        self.size = len(self.rows)
        y_text = _column(self.header, self.rows, args.y, path)
        self.y = _numbers(y_text, args.y, path)
        bad = np.flatnonzero((self.y != 0) & (self.y != 1))
        if bad.size:
            k = int(bad[0])
            raise InputError(f"column {args.y!r} must be 0 or 1; found {y_text[k]!r} on line {k + 2}")
        self.weights = None
        if args.weights:
            self.weights = _numbers(_column(self.header, self.rows, args.weights, path), args.weights, path)
            bad = np.flatnonzero(self.weights <= 0)
            if bad.size:
                k = int(bad[0])
                raise InputError(f"weights {args.weights!r} must be > 0; found {self.weights[k]:g} on line {k + 2}")
        self.strata = self.labels(args.strata) if args.strata else None
        self.psu = self.labels(args.psu) if args.psu else None
        self.fpc = _numbers(_column(self.header, self.rows, args.fpc, path), args.fpc, path) if args.fpc else None
        self.domains = self.labels(args.by) if args.by else None

    def labels(self, name):
        return _labels(_column(self.header, self.rows, name, self.path), name, self.path)


class _FastColumns:
    """The same columns read with pandas' C parser (see the module docstring).

    Label columns are kept as integer codes, the ranks of their distinct
    labels in sorted order, so the engine uses them without hashing a million
    strings again; :meth:`as_text` gives the columns with the labels written
    out, for the messages that name a label.
    """

    def __init__(self, args, numbers, coded, *, text=False):
        self._args, self._numbers, self._coded = args, numbers, coded
        self.y = numbers[args.y]
        self.size = self.y.size
        self.weights = numbers[args.weights] if args.weights else None
        self.fpc = numbers[args.fpc] if args.fpc else None
        for attribute, name in (("strata", args.strata), ("psu", args.psu), ("domains", args.by)):
            setattr(self, attribute, (self.labels(name) if text else coded[name][0]) if name else None)
        self.domain_labels = coded[args.by][1] if args.by and not text else None

    def labels(self, name):
        codes, labels = self._coded[name]
        return labels[codes]

    def as_text(self):
        """The same columns with strata, PSUs and domains as the labels themselves."""
        return _FastColumns(self._args, self._numbers, self._coded, text=True)


def _label_columns(args):
    """Names of the label columns the options ask for (None: an option the reference must report)."""
    names = [name for name in (args.strata, args.psu, args.by) if name]
    for spec in ([args.poststratify] if args.poststratify else []) + list(args.rake):
        if "=" not in spec:
            return None
        names += [v.strip() for v in spec.split("=", 1)[0].split(",") if v.strip()]
    return names


def _regular_rows(data: bytes, width: int):
    """Number of data rows if every non-empty line after the header has ``width`` fields, else None.

    Counts the commas and line ends outside quotes with numpy over the raw
    bytes, so that a ragged or whitespace-only line, which pandas would pad,
    cut or skip, goes to the reference reader instead.  Quotes are tracked by
    parity, which is the ``csv`` module's reading only where every opening
    quote starts a field and every closing quote ends one; otherwise None.
    """
    raw = np.frombuffer(data, dtype=np.uint8)
    if b"\r" in data:
        # A CR that does not end a line (CRLF) is a line end to the csv module but not to pandas.
        returns = np.flatnonzero(raw == ord("\r"))
        if returns[-1] == raw.size - 1 or np.any(raw[returns + 1] != ord("\n")):
            return None
    quotes = np.flatnonzero(raw == ord('"')) if b'"' in data else np.empty(0, dtype=np.intp)
    if not quotes.size:
        # Separators in file order; each line's field count is one more than its commas.
        separators = np.flatnonzero((raw == ord(",")) | (raw == ord("\n")))
        is_end = raw[separators] == ord("\n")
        if raw.size and raw[-1] == ord("\n") and separators.size % width == 0:
            # The usual file: the separators are width - 1 commas and a line end, over and over
            # (so every line, the header included, has width fields and none is blank).
            grid = is_end.reshape(-1, width)
            if grid[:, -1].all() and not grid[:, :-1].any():
                return grid.shape[0] - 1
        if raw.size and raw[-1] != ord("\n"):
            separators = np.append(separators, raw.size)
            is_end = np.append(is_end, True)
        fields = np.diff(np.flatnonzero(is_end), prepend=-1)
        return _count_regular(raw, separators[is_end], fields, width)
    commas = np.flatnonzero(raw == ord(","))
    ends = np.flatnonzero(raw == ord("\n"))
    if quotes.size % 2:
        return None
    opening, closing = quotes[0::2], quotes[1::2]
    before = raw[np.maximum(opening - 1, 0)]
    after = raw[np.minimum(closing + 1, raw.size - 1)]
    field_start = np.isin(before, np.frombuffer(b',\n"', dtype=np.uint8)) | (opening == 0)
    field_end = np.isin(after, np.frombuffer(b',\r\n"', dtype=np.uint8)) | (closing == raw.size - 1)
    if not (field_start.all() and field_end.all()):
        return None
    commas = commas[np.searchsorted(quotes, commas) % 2 == 0]
    ends = ends[np.searchsorted(quotes, ends) % 2 == 0]
    if raw.size and raw[-1] != ord("\n"):
        ends = np.append(ends, raw.size)
    fields = np.diff(np.searchsorted(commas, np.concatenate(([0], ends)))) + 1
    return _count_regular(raw, ends, fields, width)


def _count_regular(raw, ends, fields, width):
    """Data rows, given each line's end and field count; None if a non-empty line has another count."""
    starts = np.concatenate(([0], ends[:-1] + 1))
    length = ends - starts
    crlf = length > 0
    crlf[crlf] = raw[ends[crlf] - 1] == ord("\r")
    empty = length - crlf == 0
    if fields[0] != width or np.any(fields[1:][~empty[1:]] != width):
        return None
    return int(np.count_nonzero(~empty[1:]))


def _read_fast(args):
    """:class:`_FastColumns`, or None when only the reference reader can tell what is wrong."""
    numbers_wanted = [name for name in (args.y, args.weights, args.fpc) if name]
    labels_wanted = _label_columns(args)
    if labels_wanted is None or set(numbers_wanted) & set(labels_wanted):
        return None
    try:
        with open(args.data, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    first_end = data.find(b"\n")
    first_line = (data if first_end < 0 else data[:first_end]).decode("utf-8").removesuffix("\r")
    # NUL trips the csv module; pandas reads TRUE/false as 1/0 in a number column.
    if b"\0" in data or _has_true_or_false(data, max(first_end, 0)):
        return None
    if first_line.count('"') % 2 or "\r" in first_line:
        return None
    header = [name.strip() for name in next(csv.reader([first_line]), [])]
    if len(header) < 2 or any(name not in header for name in numbers_wanted + labels_wanted):
        return None
    size = _regular_rows(data, len(header))
    if not size:
        return None

    import pandas

    position = {name: header.index(name) for name in numbers_wanted + labels_wanted}
    dtypes = {position[name]: np.float64 for name in numbers_wanted}
    dtypes.update({position[name]: object for name in labels_wanted})
    try:
        # header=0 with names: the first line is the header (checked above), read faster than skiprows=1.
        frame = pandas.read_csv(
            io.BytesIO(data),
            engine="c",
            header=0,
            names=list(range(len(header))),
            index_col=False,
            usecols=sorted(dtypes),
            dtype=dtypes,
            na_filter=False,
            encoding="utf-8",
        )
    except (ValueError, pandas.errors.ParserError):
        return None
    if len(frame) != size:
        return None
    numbers = {}
    for name in numbers_wanted:
        values = frame[position[name]].to_numpy(dtype=np.float64)
        if not np.all(np.isfinite(values)):
            return None
        numbers[name] = values
    y = numbers[args.y]
    if np.count_nonzero(y == 0) + np.count_nonzero(y == 1) != y.size:
        return None
    if args.weights and not np.all(numbers[args.weights] > 0):
        return None
    coded = {}
    for name in labels_wanted:
        coded[name] = _code_labels(pandas, frame[position[name]].to_numpy(dtype=object))
        if coded[name] is None:
            return None
    return _FastColumns(args, numbers, coded)


def _has_true_or_false(data: bytes, header_end: int) -> bool:
    """Whether a line after the header has TRUE or FALSE in any case.

    Numbers hold no t or f, so a file of numbers is cleared by four byte
    searches without lowering all of it; the header's names do not count.
    """
    if not any(data.find(letter, header_end) >= 0 for letter in (b"t", b"T", b"f", b"F")):
        return False
    lowered = data[header_end:].lower()
    return b"true" in lowered or b"false" in lowered


def _code_labels(pandas, values):
    """Codes (ranks of the sorted stripped labels) and those labels; None for a missing label."""
    codes, uniques = pandas.factorize(values)
    if codes.size and codes.min() < 0:
        return None
    stripped = np.array([label.strip() for label in uniques], dtype=object)
    if any(label == "" or label.upper() == "NA" for label in stripped):
        return None
    # " a" and "a" are one label once stripped; the k distinct labels are sorted as the engine sorts them.
    merged, distinct = pandas.factorize(stripped)
    distinct = np.asarray(distinct, dtype=object)
    order = np.argsort(distinct, kind="stable")
    rank = np.empty(order.size, dtype=np.intp)
    rank[order] = np.arange(order.size, dtype=np.intp)
    return rank[merged][codes], distinct[order]


def _estimate(args):
    columns = _read_fast(args) or _ReferenceColumns(args)
    if args.poststratify and args.rake:
        raise InputError("use either --poststratify or --rake, not both")
    if not isinstance(columns, _FastColumns):
        return _estimate_columns(args, columns)
    try:
        document = _estimate_columns(args, columns)
    except ValueError:
        # The engine names labels in its messages (a stratum with one PSU...): say them as written.
        return _estimate_columns(args, columns.as_text())
    if columns.domain_labels is not None:
        for row in document["estimates"][1:]:
            row["domain"] = columns.domain_labels[row["domain"]]
    return document


def _estimate_columns(args, columns):
    # Imported here, not at the top: they load scipy.special, which --help and a bad option do not need.
    from .design import estimate_proportion
    from .weighting import poststratify, rake

    weights = columns.weights
    calibration = None
    base_weights = weights if weights is not None else np.ones(columns.size)
    if args.poststratify:
        variables, totals = _read_totals(args.poststratify, "--poststratify")
        cells = [columns.labels(v) for v in variables]
        calibration = poststratify(base_weights, cells, totals, name=",".join(variables))
    elif args.rake:
        margins, totals_list, names = [], [], []
        for spec in args.rake:
            variables, totals = _read_totals(spec, "--rake")
            margins.append([columns.labels(v) for v in variables])
            totals_list.append(totals)
            names.append(",".join(variables))
        calibration = rake(base_weights, margins, totals_list, names=names)
    result = estimate_proportion(
        columns.y,
        weights=None if calibration is not None else weights,
        strata=columns.strata,
        psu=columns.psu,
        fpc=columns.fpc,
        domains=columns.domains,
        ci_method=args.ci,
        df=args.df,
        alpha=args.alpha,
        target=args.target,
        calibration=calibration,
        lonely_psu=args.lonely_psu,
    )
    return result.to_dict()


def main(argv=None) -> int:
    """Entry point; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        document = _estimate(args)
    except (InputError, ValueError) as error:
        message = " ".join(str(error).split())
        print(f"analysis: error: {message}", file=sys.stderr)
        return 2
    json.dump(document, sys.stdout, ensure_ascii=False, allow_nan=False)
    sys.stdout.write("\n")
    return 0
