"""Reading CSV and XLSX files into rows with their line numbers, and reporting problems."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class RowProblem:
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        column = f", column {self.column}" if self.column else ""
        return f"{where}{column}: {self.message}"


#: Bad rows reported in full; the ones after them are only counted, so a file of 60,000 bad rows
#: costs neither the importer's memory nor a 30 MB page.
MAX_REPORTED_ROWS = 100


@dataclass
class ImportRejected(ValueError):
    """A file was refused whole; ``problems`` says where and why, row by row.

    ``problems`` holds the problems of the first :data:`MAX_REPORTED_ROWS` bad rows (and of the
    whole file); ``more`` is the number of further rows with errors, only counted.
    """

    file: str
    problems: list[RowProblem] = field(default_factory=list)
    more: int = 0

    def __str__(self) -> str:
        shown = "\n".join(f"  {Path(self.file).name}, {problem}" for problem in self.problems)
        more = f"\n  … and {self.more:,} more rows with errors" if self.more else ""
        return f"{Path(self.file).name}: refused, nothing was written ({len(self.problems)} problem(s)):\n{shown}{more}"


class Problems:
    """The problems of one file: every problem of its first ``limit`` bad rows, then a count of bad rows.

    Used like the list it replaces (``append``, ``len``, truth); :meth:`rejected` makes the error.
    Rows come in file order, so a row's problems arrive together.
    """

    def __init__(self, limit: int = MAX_REPORTED_ROWS) -> None:
        self.limit = limit
        self.shown: list[RowProblem] = []
        self.more = 0
        self._lines: set[int] = set()
        self._last_counted: int | None = None

    def append(self, problem: RowProblem) -> None:
        if problem.line is None or problem.line in self._lines:
            self.shown.append(problem)
        elif len(self._lines) < self.limit:
            self._lines.add(problem.line)
            self.shown.append(problem)
        elif problem.line != self._last_counted:
            self._last_counted = problem.line
            self.more += 1

    def __len__(self) -> int:
        """Problems kept plus rows only counted: grows whenever a row adds a problem (and gives truth)."""
        return len(self.shown) + self.more

    def rejected(self, file: str) -> ImportRejected:
        return ImportRejected(file, self.shown, self.more)


def read_table(
    path: Path, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line number, {column: text})`` for each non-empty data row.

    Column names are matched case-insensitively; the first row is the header. Raises
    :class:`ImportRejected` for an unreadable file or missing columns.
    """
    if not path.exists():
        raise ImportRejected(str(path), [RowProblem(None, None, "file not found")])
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        rows = _xlsx_rows(path)
    elif suffix in (".csv", ".txt"):
        rows = _csv_rows(path)
    else:
        raise ImportRejected(str(path), [RowProblem(None, None, "use a .csv (UTF-8) or .xlsx file")])
    try:
        header_line, header = next(rows)
    except StopIteration:
        raise ImportRejected(str(path), [RowProblem(None, None, "the file is empty")]) from None
    names = [str(name or "").strip().lower() for name in header]
    missing = [column for column in required if column not in names]
    if missing:
        raise ImportRejected(str(path), [RowProblem(header_line, None, f"missing column(s): {', '.join(missing)}")])
    wanted = set(required) | set(optional)
    for line, values in rows:
        texts = ["" if value is None else str(value).strip() for value in values]
        if not any(texts):
            continue
        yield line, {name: texts[i] if i < len(texts) else "" for i, name in enumerate(names) if name in wanted}


def _csv_rows(path: Path) -> Iterator[tuple[int, list]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            for row in reader:
                yield reader.line_num, row
    except UnicodeDecodeError:
        raise ImportRejected(
            str(path), [RowProblem(None, None, "the file is not UTF-8 text; save it as 'CSV UTF-8'")]
        ) from None


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list]]:
    from openpyxl import load_workbook  # start-up: openpyxl takes most of a second to import

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        raise ImportRejected(
            str(path), [RowProblem(None, None, f"not a readable .xlsx file ({error.__class__.__name__})")]
        ) from None
    try:
        sheet = workbook.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell_text(value) for value in row]
    finally:
        workbook.close()


def _cell_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)
