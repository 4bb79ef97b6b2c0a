"""``eco2 prices``: import KECO's monthly recyclable-price file, and show what the subagent answers.

KECO publishes the survey each month as a file on data.go.kr (dataset 3076421), not as an API, so a
deployment refreshes its prices with ``eco2 prices import FILE``: the file is validated (columns, numbers,
regions; errors name the line) and installed under ``$ECO2_STATE_DIR/prices/``, where every worker picks it
up on its next question while it is as new as the bundled table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from eco2.config import Settings
from eco2.prices import (
    NATIONWIDE,
    PriceBook,
    PriceFileError,
    bundled_table,
    import_file,
    imported_path,
    month_label,
    write_table,
)
from eco2.prices.keco_csv import parse_month


def add_parser(sub: Any) -> None:
    """Register ``prices import`` and ``prices show``."""
    p = sub.add_parser("prices", help="KECO recyclable-price table: import a newer file, show answers")
    actions = p.add_subparsers(dest="prices_command", required=True)
    imp = actions.add_parser("import", help="validate a KECO price CSV and install it in the state directory")
    imp.add_argument("file", type=Path, help="the CSV from data.go.kr dataset 3076421 (UTF-8 or CP949)")
    imp.add_argument("--month", type=_month, default=None, help="survey month YYYY-MM, if the file has none")
    imp.add_argument("--dry-run", action="store_true", help="validate and report without installing")
    imp.set_defaults(func=run_import)
    show = actions.add_parser("show", help="print the active table's month and the answer to a question")
    show.add_argument("words", nargs="*", help="a question, e.g. 부산 알루미늄캔")
    show.set_defaults(func=run_show)


def _month(value: str) -> str:
    month = parse_month(value)
    if month is None:
        raise argparse.ArgumentTypeError(f"not a month like 2025-01: {value!r}")
    return month


def run_import(args: argparse.Namespace) -> int:
    """Import ``args.file``; exit 1 with the file's problem on stderr when it is not a valid KECO file."""
    settings = Settings.from_env()
    try:
        report = import_file(args.file, month=args.month)
    except PriceFileError as exc:
        print(f"eco2 prices import: {exc}", file=sys.stderr)
        return 1
    table = report.table
    print(f"{args.file.name}: {report.encoding}, {report.layout} layout")
    print(f"survey month: {table.survey.month} ({month_label(table.survey.month)}), {report.rows} items")
    if report.older_rows:
        print(f"skipped {report.older_rows} rows of earlier months (only the latest month is imported)")
    if table.survey.nationwide == "mean":
        print(f"the file has no {NATIONWIDE} column: it is the simple mean of the regions in the file")
    if report.new_items:
        print(f"not in the catalog (imported under their KECO names): {', '.join(report.new_items)}")
    bundled = bundled_table().survey.month
    if table.survey.month < bundled:
        print(f"note: older than the bundled table ({bundled}), which stays in use")
    if args.dry_run:
        print("dry run: nothing installed")
        return 0
    try:
        path = write_table(table, settings.state_dir)
    except OSError as exc:
        print(f"eco2 prices import: cannot write under {settings.state_dir}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"installed: {path}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print which table answers and, for a question, the subagent's summary."""
    from eco2.domain.subagents import SubagentQuery
    from eco2.subagents.recyclable_price import RecyclablePrice

    settings = Settings.from_env()
    book = PriceBook(settings.state_dir)
    table = book.current()
    origin = f"imported ({imported_path(settings.state_dir)})" if table.survey.imported_from else "bundled"
    print(f"active table: {table.survey.month} ({origin}), {len(table.prices)} priced items")
    if args.words:
        result = RecyclablePrice(book).run(SubagentQuery("cli", " ".join(args.words), ("recyclable_price",)))
        print()
        print(result.summary)
    return 0
