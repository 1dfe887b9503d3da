"""Command line: ``python -m analysis estimate DATA.csv --y COLUMN ...``.

Reads a CSV, estimates a weighted proportion for the whole sample and (with
``--by``) for each domain, and prints one JSON document.  Bad input exits with
status 2 and one line on stderr.

Two readers give the same columns.  Arrow's CSV reader (pyarrow) reads a
well-formed file (the usual case, and the fast one: a million rows in a
fraction of a second, parsed on several threads, label columns hashed into
dictionaries as they are parsed; pandas is not loaded); label columns are read
as text, so a stratum "01" stays distinct from "1".
The standard library's ``csv`` reader is the reference: whenever the fast
reader cannot vouch that the file is one the reference reads without error
(a ragged or blank-but-not-empty line, a missing or non-numeric value, a y
that is not 0/1, a weight <= 0, bytes that are not UTF-8, a "TRUE"...), the
file is read again by the reference, which reports the problem with its line
number exactly as before.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import importlib
import json
import math
import sys
import threading

import numpy as np

from ._defaults import CI_METHODS, DEFAULT_CI_METHOD, DEFAULT_TARGET, MIN_N_PUBLISH

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
    """The same columns read with Arrow's CSV reader (see the module docstring).

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


def _plain_line_ends_and_quotes(data: bytes) -> bool:
    """Whether the parser splits ``data`` into the lines and fields the ``csv`` module finds.

    The parser itself refuses a line with another number of fields than the
    header (a ragged or whitespace-only line) and skips empty ones, as the
    ``csv`` module does.  What is left to check: every CR ends a line (CRLF;
    a lone CR is a line end to the csv module), and every quote opens or
    closes a field (tracked by parity), where both read quotes alike.
    """
    if b"\r" in data:
        raw = np.frombuffer(data, dtype=np.uint8)
        returns = np.flatnonzero(raw == ord("\r"))
        if returns[-1] == raw.size - 1 or np.any(raw[returns + 1] != ord("\n")):
            return False
    if b'"' not in data:
        return True
    raw = np.frombuffer(data, dtype=np.uint8)
    quotes = np.flatnonzero(raw == ord('"'))
    if quotes.size % 2:
        return False
    opening, closing = quotes[0::2], quotes[1::2]
    before = raw[np.maximum(opening - 1, 0)]
    after = raw[np.minimum(closing + 1, raw.size - 1)]
    field_start = np.isin(before, np.frombuffer(b',\n"', dtype=np.uint8)) | (opening == 0)
    field_end = np.isin(after, np.frombuffer(b',\r\n"', dtype=np.uint8)) | (closing == raw.size - 1)
    return bool(field_start.all() and field_end.all())


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
    # NUL trips the csv module. (TRUE, NA, nan and the like in a number column stop the parser or the
    # finiteness check below: no value is read as a number that Python's float() would not read alike.)
    if b"\0" in data:
        return None
    if first_line.count('"') % 2 or "\r" in first_line:
        return None
    header = [name.strip() for name in next(csv.reader([first_line]), [])]
    if len(header) < 2 or any(name not in header for name in numbers_wanted + labels_wanted):
        return None
    if not _plain_line_ends_and_quotes(data):
        return None

    return _parse(args, data, header, numbers_wanted, labels_wanted)


def _parse(args, data, header, numbers_wanted, labels_wanted):
    """The columns parsed by Arrow from a file whose lines and quotes the checks have cleared, or None."""
    # start-up: --help and a file only the reference can judge do not need pyarrow.
    import pyarrow
    import pyarrow.csv

    position = {name: header.index(name) for name in numbers_wanted + labels_wanted}
    types = {str(position[name]): pyarrow.float64() for name in numbers_wanted}
    types.update({str(position[name]): pyarrow.dictionary(pyarrow.int32(), pyarrow.string()) for name in labels_wanted})
    try:
        table = pyarrow.csv.read_csv(
            pyarrow.BufferReader(data),
            read_options=pyarrow.csv.ReadOptions(
                column_names=[str(k) for k in range(len(header))], skip_rows=1, block_size=_BLOCK_SIZE
            ),
            # A quoted field may hold a line end (the csv module reads it); only then must the parser look for one.
            parse_options=pyarrow.csv.ParseOptions(newlines_in_values=b'"' in data, ignore_empty_lines=True),
            convert_options=pyarrow.csv.ConvertOptions(
                column_types=types,
                include_columns=sorted(types, key=int),
                null_values=[],
                true_values=[],
                false_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pyarrow.ArrowInvalid, ValueError):
        return None
    if not table.num_rows:
        return None
    numbers = {}
    for name in numbers_wanted:
        values = _concatenate([np.from_dlpack(chunk) for chunk in table.column(str(position[name])).chunks])
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
        coded[name] = _code_labels(table.column(str(position[name])).chunks)
        if coded[name] is None:
            return None
    return _FastColumns(args, numbers, coded)


#: Bytes the parser gives each of its threads at a time (Arrow's default, 1 MiB).
_BLOCK_SIZE = 1 << 20


def _concatenate(arrays):
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


def _code_labels(chunks):
    """Codes (ranks of the sorted stripped labels) and those labels; None for a missing label.

    The parser hashes each block's labels into a dictionary of its own; the
    few distinct labels of each block are stripped and merged here, so the
    million values are never looked at from Python.
    """
    merged: dict[str, int] = {}
    codes = []
    for chunk in chunks:
        lookup = np.array(
            [merged.setdefault(label.strip(), len(merged)) for label in chunk.dictionary.to_pylist()], dtype=np.intp
        )
        indices = np.from_dlpack(chunk.indices)
        codes.append(lookup[indices] if lookup.size else indices.astype(np.intp))
    distinct = np.array(list(merged), dtype=object)
    if any(label == "" or label.upper() == "NA" for label in distinct):
        return None
    # " a" and "a" are one label once stripped; the k distinct labels are sorted as the engine sorts them.
    order = np.argsort(distinct, kind="stable")
    rank = np.empty(order.size, dtype=np.intp)
    rank[order] = np.arange(order.size, dtype=np.intp)
    return rank[_concatenate(codes)], distinct[order]


def _estimate(args):
    # The estimator's modules (scipy.special: about a third of the command's time) load on a thread
    # of their own while the file is read: Arrow's parser and numpy's scans release the GIL meanwhile.
    loading = threading.Thread(target=importlib.import_module, args=(f"{__package__}.design",), daemon=True)
    loading.start()
    columns = _read_fast(args) or _ReferenceColumns(args)
    loading.join()
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
    # start-up: they load scipy.special, which --help and a bad option do not need.
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
