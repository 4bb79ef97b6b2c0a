"""KECO's monthly recyclable-price survey: the table model, the active-table loader and the CSV import.

KECO (한국환경공단) publishes the survey as a monthly file on data.go.kr (dataset 3076421), not as an API,
so eco2 ships a table and lets operators import newer files (``eco2 prices import``).
"""

from __future__ import annotations

from eco2.prices.importer import ImportReport, import_file, write_table
from eco2.prices.loader import PriceBook, bundled_table, imported_path
from eco2.prices.regions import RegionMatch, RegionResolver, default_resolver
from eco2.prices.table import (
    COLUMNS,
    NATIONWIDE,
    REGIONS,
    CatalogItem,
    PriceFileError,
    PriceTable,
    Survey,
    month_label,
)

__all__ = [
    "COLUMNS",
    "NATIONWIDE",
    "REGIONS",
    "CatalogItem",
    "ImportReport",
    "PriceBook",
    "PriceFileError",
    "PriceTable",
    "RegionMatch",
    "RegionResolver",
    "Survey",
    "bundled_table",
    "default_resolver",
    "import_file",
    "imported_path",
    "month_label",
    "write_table",
]
