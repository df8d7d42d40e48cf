"""docs/schema.md documents every table and column a fresh archive has (one source of truth for
researchers and for the Datasette descriptions)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from archive import Archive

SCHEMA_DOC = Path(__file__).resolve().parents[1] / "docs" / "schema.md"


def test_every_table_and_column_is_documented(tmp_path: Path) -> None:
    Archive(tmp_path / "a.db").close()
    doc = SCHEMA_DOC.read_text(encoding="utf-8")
    sections = {
        name: body
        for heading, body in re.findall(r"^## ([^\n]+)\n(.*?)(?=^## |\Z)", doc, flags=re.M | re.S)
        for name in re.findall(r"`(\w+)`", heading)
    }
    with sqlite3.connect(tmp_path / "a.db") as connection:
        tables = [
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            if not name.startswith(("sqlite_", "articles_fts"))  # FTS5 keeps its own shadow tables
        ]
        missing = []
        for table in tables:
            section = sections.get(table)
            if section is None:
                missing.append(f"table {table}: no '## `{table}`' section")
                continue
            for (column,) in connection.execute(f"SELECT name FROM pragma_table_info('{table}')"):
                if f"`{column}`" not in section:
                    missing.append(f"{table}.{column}")
    assert not missing, missing
