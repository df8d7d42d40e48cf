"""Table and column descriptions parsed from docs/schema.md, shipped as archive/schema_descriptions.json.

docs/schema.md is the one source of truth for what each table and column means (a test keeps every
column documented there). Tools that show the archive to people (the Datasette metadata of
``newsarchive serve``, archive/datasette_metadata.py) need those words in an installed package, where
docs/ is not: ``python -m archive.schema_doc`` parses the doc into the JSON file beside this module,
which is committed, and tests/test_serve.py checks that it is current with the doc.

What is read: each ``## `table` — what it is`` heading (``### `view` — what it is`` for a view) (the words after the dash describe the
table; without them, the first paragraph does) and the ``| column | … | meaning |`` tables under it. A
cell naming several columns (```started_at`, `finished_at```) gives each the meaning; a line
```boilerplate_lines` (…):`` switches to that table within a section shared by two. Other tables
(vocabularies such as ``| kind | when |``) are not column lists and are skipped.
"""

from __future__ import annotations

import json
import re
import sys
from importlib import resources
from pathlib import Path
from typing import Any

DESCRIPTIONS_FILE = "schema_descriptions.json"
HEADING = re.compile(r"^## (.+)$")
# A view is documented under "### `name` — what it is" inside "## Views"; other ### headings are subsections.
VIEW_HEADING = re.compile(r"^### ((?:`\w+`(?:, | and )?)+ — .+)$")
TABLE_SWITCH = re.compile(r"^`(\w+)`(?: \([^)]*\))?:$")
NAME = re.compile(r"`(\w+)`")
CELL_SPLIT = re.compile(r"(?<!\\)\|")


def _cells(line: str) -> list[str]:
    return [cell.strip().replace("\\|", "|") for cell in CELL_SPLIT.split(line.strip().strip("|"))]


def _plain(text: str) -> str:
    # Datasette shows descriptions as plain text: Markdown code marks only add noise there.
    return " ".join(text.replace("`", "").replace("**", "").split())


def parse_schema_doc(text: str) -> dict[str, dict[str, Any]]:
    """``{table: {"description": str | None, "columns": {column: meaning}}}`` from the schema doc's text."""
    tables: dict[str, dict[str, Any]] = {}
    current: list[str] = []  # the tables the lines now belong to
    header: list[str] | None = None  # the header cells of the Markdown table being read, if it lists columns
    paragraph: list[str] = []
    needs_paragraph: list[str] = []
    for line in [*text.splitlines(), ""]:
        heading = HEADING.match(line) or VIEW_HEADING.match(line)
        if heading:
            names = NAME.findall(heading.group(1).split(" — ")[0])
            _, dash, words = heading.group(1).partition(" — ")
            current = names
            header, paragraph = None, []
            needs_paragraph = [] if dash else list(names)
            for name in names:
                tables[name] = {"description": _plain(words) if dash else None, "columns": {}}
            continue
        if not current:
            continue
        if line.startswith("|"):
            needs_paragraph = []  # only a paragraph before the column table describes the table
            cells = _cells(line)
            if header is None:
                header = cells if cells and cells[0] == "column" else []
            elif header and not set(cells[0]) <= set("-: "):
                meaning = _plain(cells[-1])
                if len(header) > 2 and header[1] == "type" and len(cells) > 2:
                    meaning = f"{_plain(cells[1])}: {meaning}"
                for table in current:
                    for column in NAME.findall(cells[0]):
                        tables[table]["columns"][column] = meaning
            continue
        header = None
        switch = TABLE_SWITCH.match(line.strip())
        if switch and switch.group(1) in tables:
            current = [switch.group(1)]
            continue
        if line.strip():
            paragraph.append(line.strip())
        elif paragraph:
            for name in needs_paragraph:
                tables[name]["description"] = _plain(" ".join(paragraph))
            needs_paragraph, paragraph = [], []
    return tables


def load_descriptions() -> dict[str, dict[str, Any]]:
    """The descriptions shipped with the package (generated from docs/schema.md)."""
    return json.loads(resources.files("archive").joinpath(DESCRIPTIONS_FILE).read_text(encoding="utf-8"))


def render_descriptions(doc_text: str) -> str:
    """The JSON file's exact text for a schema doc: stable key order, one trailing newline."""
    return json.dumps(parse_schema_doc(doc_text), ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    """``python -m archive.schema_doc [DOC [OUT]]``: regenerate the JSON from the doc."""
    doc = Path(argv[0]) if argv else Path("docs/schema.md")
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name(DESCRIPTIONS_FILE)
    out.write_text(render_descriptions(doc.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {out} from {doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
