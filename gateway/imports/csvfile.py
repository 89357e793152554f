"""An import's CSV file: UTF-8 with or without a BOM, the delimiter sniffed, read row by row."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar

from gateway import defaults
from gateway.errors import BadRequest, PayloadTooLarge

DELIMITERS = ",;\t"
Source = str | Path | IO[bytes]
T = TypeVar("T")


class ImportFileError(BadRequest):
    """The file cannot be read as CSV; the message names the row."""


class TooManyRows(PayloadTooLarge):
    """The file has more rows than one import may (IMPORT_MAX_ROWS)."""


@dataclass(frozen=True)
class Row:
    """One CSV row under the header: its number, its values by column, what it held beyond."""

    number: int                 # 1 for the first row under the header
    values: dict[str, str]      # column -> text, '' where the row is short
    fields: list[str]           # the row as read
    extra: int = 0              # fields beyond the header's columns


@contextmanager
def opened(source: Source) -> Iterator[io.TextIOWrapper]:
    """The file (a path or a seekable binary stream) as text, BOM dropped, newlines kept."""
    raw = open(source, "rb") if isinstance(source, str | Path) else source  # noqa: SIM115
    try:
        raw.seek(0)
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        try:
            yield text
        finally:
            text.detach()
    finally:
        if isinstance(source, str | Path):
            raw.close()


def delimiter(text: io.TextIOWrapper) -> str:
    """`,`, `;` or tab, as csv.Sniffer reads the first lines; `,` when it cannot tell."""
    sample = text.read(defaults.IMPORT_SNIFF_CHARS)
    text.seek(0)
    if len(sample) == defaults.IMPORT_SNIFF_CHARS and "\n" in sample:
        sample = sample[:sample.rindex("\n")]       # a cut last line misleads the sniffer
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def header_of(reader: Iterator[list[str]]) -> list[str]:
    """The column names of the first line: present, non-empty where used, and distinct."""
    try:
        names = [name.strip() for name in next(reader)]
    except StopIteration:
        raise ImportFileError("the file is empty: the first line must name the columns") from None
    if not any(names):
        raise ImportFileError("the first line must name the columns")
    seen = set()
    for name in names:
        if name and name in seen:
            raise ImportFileError(f"the column '{name}' appears twice in the header")
        seen.add(name)
    return names


@dataclass(frozen=True)
class Table:
    """A CSV file opened for reading: its delimiter, columns and rows."""

    delimiter: str
    columns: list[str]
    rows: Iterator[Row]


@contextmanager
def table(source: Source) -> Iterator[Table]:
    """The file's columns and its rows, streamed; reading errors name the row."""
    with opened(source) as text:
        sep = _read(lambda: delimiter(text), 0)
        reader = csv.reader(text, delimiter=sep)
        columns = _read(lambda: header_of(reader), 0)
        yield Table(sep, columns, _rows(reader, columns))


def _rows(reader: Iterator[list[str]], columns: list[str]) -> Iterator[Row]:
    number = 0
    while True:
        fields = _read(lambda: next(reader, None), number + 1)
        if fields is None:
            return
        if not any(f.strip() for f in fields):
            continue                        # a blank line is not a row
        number += 1
        values = {name: (fields[i] if i < len(fields) else "")
                  for i, name in enumerate(columns) if name}
        yield Row(number, values, fields, max(0, len(fields) - len(columns)))


def _read(step: Callable[[], T], number: int) -> T:
    """One step of the reader, its errors as ImportFileError naming the row."""
    where = "the header" if number == 0 else f"row {number}"
    try:
        return step()
    except UnicodeDecodeError:
        raise ImportFileError(f"{where}: the file is not UTF-8 text") from None
    except csv.Error as exc:
        raise ImportFileError(f"{where}: not readable as CSV ({exc})") from None


def count_rows(source: Source, *, max_rows: int = defaults.IMPORT_MAX_ROWS) -> int:
    """Read the whole file once (streamed), so a broken file, or one of more than max_rows
    rows, fails before anything is stored."""
    rows = 0
    with table(source) as t:
        for _ in t.rows:
            rows += 1
            if rows > max_rows:
                raise TooManyRows(f"the file has more than {max_rows} rows: split it")
    return rows
