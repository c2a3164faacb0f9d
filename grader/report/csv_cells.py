"""CSV that a spreadsheet opens as data: every CSV the grader writes goes through :func:`csv_table`.

A hand-in's folder name (or a file name it carries) lands in a cell; a cell that starts with
``=``, ``+``, ``-`` or ``@`` (or a tab, a carriage return, a line feed or a NUL) would be a live
formula in the spreadsheet an instructor opens, e.g. ``=HYPERLINK("http://...", "grades")``. As
the OWASP guidance on CSV injection says, such a cell gets a leading ``'``, which spreadsheets show
as text. A cell whose first such character follows spaces or quotes, and the full-width forms of
the four signs, are treated alike, since some importers trim or fold them. Numbers the grader
writes (points) are not text and stay numbers.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable

TRIGGERS = frozenset("=+-@＝＋－＠")
CONTROL_START = frozenset("\t\r\n\0")
LEADING = " \"'\u3000"  # what an importer may skip before it sees a sign


def cell(value: object) -> object:
    """``value`` as it may stand in a CSV cell: text that could start a formula gets a leading ``'``;
    numbers are returned unchanged."""
    if not isinstance(value, str) or not value:
        return value
    if value[0] in CONTROL_START or value.lstrip(LEADING)[:1] in TRIGGERS:
        return "'" + value
    return value


def csv_table(rows: Iterable[Iterable[object]]) -> str:
    """The CSV text of ``rows`` (the header first), every cell through :func:`cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([cell(value) for value in row])
    return buffer.getvalue()
