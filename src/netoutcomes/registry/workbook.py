"""An empty XLSX template: one sheet per table, a header row, and a dropdown on every coded
column (Excel's data validation), so that a clinic types codes it cannot misspell.

The workbook imports as it is (``sources.read_xlsx``): sheet name = table name.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from netoutcomes.errors import InputError
from netoutcomes.registry.model import TABLES
from netoutcomes.registry.schema import allowed_codes, column_types

ROWS_WITH_DROPDOWNS = 5000  # Excel validation covers a range: enough for a clinic's rows
_LIST_LIMIT = 255  # Excel's limit on an inline list (codes joined by commas)


def write_template_workbook(path: str | Path) -> Path:
    """Write the template workbook; refuses to overwrite a file (it may be filled in)."""
    path = Path(path)
    if path.exists() or path.is_symlink():
        raise InputError(f"{path}: already exists; refusing to overwrite (it may be filled in)")
    if path.suffix.lower() != ".xlsx":
        raise InputError(f"{path}: the workbook's name must end in .xlsx")
    book = Workbook()
    book.remove(book.active)
    for table, spec in TABLES.items():
        sheet = book.create_sheet(table)
        columns = list(column_types(spec))
        sheet.append(columns)
        sheet.freeze_panes = "A2"
        for index, column in enumerate(columns, start=1):
            codes = allowed_codes(spec, column)
            letter = get_column_letter(index)
            sheet.column_dimensions[letter].width = max(12, len(column) + 2)
            if codes is None or len(",".join(codes)) + 2 > _LIST_LIMIT:
                continue
            rule = DataValidation(
                type="list",
                formula1='"' + ",".join(codes) + '"',
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=f"{table}.{column}",
                error=f"Choose one of: {', '.join(codes)}",
            )
            rule.add(f"{letter}2:{letter}{ROWS_WITH_DROPDOWNS}")
            sheet.add_data_validation(rule)
    try:
        book.save(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot write the workbook ({exc.strerror})") from None
    return path
