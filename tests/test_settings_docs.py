"""One declaration per default, and the docs in step with it.

Every Scrapy setting is declared in crawler/settings.py and documented, with the same default, in
the table of docs/settings.md; every sources-file key is declared by a FieldSpec and documented,
with the same default, in docs/sources.md. Whatever else carries a default (the ops dataclasses,
the settings shared with the sources file, library functions that mirror a setting) must take the
declared one.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import crawler.settings as settings_module
from crawler.extraction.classify import classify_page
from crawler.extraction.extract import extract_page
from crawler.extraction.pool import ExtractionPool
from crawler.run.crawl_process import build_settings
from crawler.sources.config import (
    ARCHIVE_FIELDS,
    DEFAULT_ARCHIVE_DB,
    EXTRA_SOURCE_FIELDS,
    SOURCE_FIELDS,
    TOP_LEVEL_TABLES,
    SourceConfig,
    source_default,
)
from crawler.sources.fields import FieldSpec, spec_defaults
from crawler.sources.ops_tables import OPS_TABLES

DOCS = Path(__file__).resolve().parent.parent / "docs"
CODE_SPAN = re.compile(r"`([^`]+)`")
SETTING_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*(KiB|MiB|GiB)$")
SIZE_UNITS = {"KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}


# --- reading the docs' markdown tables ------------------------------------------------------------


def table_cells(line: str) -> list[str]:
    """The cells of one markdown table row (leading and trailing pipes optional)."""
    text = line.strip()
    if text.startswith("|"):
        text = text[1:]
    if text.endswith("|"):
        text = text[:-1]
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", text)]


def markdown_tables(text: str) -> list[tuple[str, list[dict[str, str]]]]:
    """Every table in ``text``, with the ``##`` heading it sits under; rows keyed by the header's words."""
    tables: list[tuple[str, list[dict[str, str]]]] = []
    heading = ""
    lines = text.splitlines()
    index = 0
    in_code = False
    while index < len(lines):
        line = lines[index]
        if line.lstrip().startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif (
            not in_code
            and line.lstrip().startswith("|")
            and index + 1 < len(lines)
            and re.fullmatch(r"\s*\|?[\s:|-]+\|?\s*", lines[index + 1])
            and "-" in lines[index + 1]
        ):
            header = [cell.lower() for cell in table_cells(line)]
            rows = []
            index += 2
            while index < len(lines) and lines[index].lstrip().startswith("|"):
                rows.append(dict(zip(header, table_cells(lines[index]), strict=False)))
                index += 1
            tables.append((heading, rows))
            continue
        index += 1
    return tables


def documented_settings() -> dict[str, str]:
    """docs/settings.md's table of every setting: name -> the default cell's text."""
    documented: dict[str, str] = {}
    tables = [rows for _, rows in markdown_tables((DOCS / "settings.md").read_text()) if rows and "default" in rows[0]]
    assert tables, "docs/settings.md has no table with a 'default' column"
    for rows in tables:
        for row in rows:
            names = [name for name in CODE_SPAN.findall(row.get("setting", "")) if SETTING_NAME.match(name)]
            assert names, f"docs/settings.md: a row names no setting: {row}"
            for name in names:
                assert name not in documented, f"docs/settings.md documents {name} twice"
                documented[name] = row["default"]
    return documented


def documented_keys() -> dict[str, dict[str, str]]:
    """docs/sources.md's tables: table name ("archive", "sources", ...) -> key -> the default cell's text."""
    documented: dict[str, dict[str, str]] = {}
    for heading, rows in markdown_tables((DOCS / "sources.md").read_text()):
        if not rows or "key" not in rows[0] or "default" not in rows[0]:
            continue
        match = re.fullmatch(r"`\[\[?([a-z_]+)\]\]?`", heading)
        assert match, f"docs/sources.md: a key table sits under {heading!r}, not under a `[table]` heading"
        keys = documented.setdefault(match[1], {})
        for row in rows:
            names = CODE_SPAN.findall(row["key"])
            assert len(names) == 1, f"docs/sources.md [{match[1]}]: a row names {names}, not one key"
            assert names[0] not in keys, f"docs/sources.md documents [{match[1]}] {names[0]} twice"
            keys[names[0]] = row["default"]
    return documented


# --- comparing documented defaults with declared ones ---------------------------------------------


def documented_setting_value(cell: str) -> Any:
    """A settings.md default cell as a Python value: a literal, "16 MiB", "500 502 503", or plain text."""
    spans = CODE_SPAN.findall(cell)
    text = (spans[0] if spans else cell).strip()
    size = SIZE.match(text)
    if size:
        return int(float(size[1]) * SIZE_UNITS[size[2]])
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        pass
    if re.fullmatch(r"-?\d+(\s+-?\d+)+", text):
        return [int(word) for word in text.split()]
    return text


def same_value(documented: Any, declared: Any) -> bool:
    """Equal, without True == 1 or [1] != (1,) surprises."""
    if isinstance(documented, bool) or isinstance(declared, bool):
        return type(documented) is type(declared) and documented == declared
    if isinstance(documented, (int, float)) and isinstance(declared, (int, float)):
        return float(documented) == float(declared)
    if isinstance(documented, (list, tuple)) and isinstance(declared, (list, tuple)):
        return len(documented) == len(declared) and all(map(same_value, documented, declared))
    if isinstance(documented, dict) and isinstance(declared, dict):
        return documented.keys() == declared.keys() and all(same_value(documented[k], declared[k]) for k in declared)
    return documented == declared


def declared_settings() -> dict[str, Any]:
    return {name: getattr(settings_module, name) for name in dir(settings_module) if name.isupper()}


def key_default_matches(spec: FieldSpec, cell: str) -> str | None:
    """None when the sources.md default cell says what ``spec`` declares; else what is wrong."""
    words = cell.strip().strip("*").lower()
    if words == "required":
        return None if spec.required else f"documented as required, but its default is {spec.default!r}"
    if spec.required:
        return f"required, but documented with the default {cell!r}"
    if words == "none":
        return None if spec.default is None else f"documented as none, but its default is {spec.default!r}"
    spans = CODE_SPAN.findall(cell)
    if not spans:
        return f"the default {cell!r} is neither a `TOML value`, 'required' nor 'none'"
    try:
        value = tomllib.loads(f"value = {spans[0]}")["value"]
    except tomllib.TOMLDecodeError:
        return f"the default `{spans[0]}` is not a TOML value"
    parsed = spec.parse(value)  # the way the sources file would read it: "1h" is 3600 seconds
    return None if same_value(parsed, spec.default) else f"documented `{spans[0]}`, declared {spec.default!r}"


def sources_file_tables() -> dict[str, Sequence[FieldSpec]]:
    return {
        "archive": ARCHIVE_FIELDS,
        "sources": (*SOURCE_FIELDS, *EXTRA_SOURCE_FIELDS),
        **{name: specs for name, (specs, _) in OPS_TABLES.items()},
    }


# --- the docs -------------------------------------------------------------------------------------


def test_every_setting_is_documented_with_its_default() -> None:
    documented = documented_settings()
    problems = []
    for name, value in sorted(declared_settings().items()):
        if name not in documented:
            problems.append(f"{name} (default {value!r}) is not in the table of docs/settings.md")
        elif not same_value(documented_setting_value(documented[name]), value):
            problems.append(f"{name}: docs/settings.md says {documented[name]}, crawler/settings.py has {value!r}")
    assert not problems, "\n".join(problems)


def test_every_documented_setting_exists() -> None:
    unknown = sorted(set(documented_settings()) - set(declared_settings()))
    assert not unknown, f"docs/settings.md documents settings that crawler/settings.py does not declare: {unknown}"


def test_the_settings_the_crawl_reads_are_the_declared_ones() -> None:
    built = build_settings()
    for name, value in declared_settings().items():
        assert same_value(built[name], value) or built[name] == value, name


def test_every_sources_file_key_is_documented_with_its_default() -> None:
    documented = documented_keys()
    problems = []
    for table, specs in sources_file_tables().items():
        keys = documented.get(table)
        if keys is None:
            problems.append(f"docs/sources.md has no key table for [{table}]")
            continue
        for spec in specs:
            if spec.name not in keys:
                problems.append(f"[{table}] {spec.name} (default {spec.default!r}) is not in docs/sources.md")
                continue
            wrong = key_default_matches(spec, keys[spec.name])
            if wrong:
                problems.append(f"[{table}] {spec.name}: {wrong}")
    assert not problems, "\n".join(problems)


def test_every_documented_key_exists() -> None:
    declared = {table: {spec.name for spec in specs} for table, specs in sources_file_tables().items()}
    problems = []
    for table, keys in documented_keys().items():
        if table not in declared:
            problems.append(f"docs/sources.md documents a table [{table}] that the sources file does not have")
            continue
        problems.extend(
            f"docs/sources.md documents [{table}] {key}, which is no key of that table"
            for key in sorted(set(keys) - declared[table])
        )
    assert not problems, "\n".join(problems)
    assert set(declared) == set(TOP_LEVEL_TABLES), "every top-level table of the sources file is checked"


# --- one declaration per default ------------------------------------------------------------------


@pytest.mark.parametrize("table", sorted(OPS_TABLES))
def test_ops_dataclasses_take_their_defaults_from_the_specs(table: str) -> None:
    specs, config_class = OPS_TABLES[table]
    fields = {field.name: field.default for field in dataclasses.fields(config_class)}
    assert list(fields) == [spec.name for spec in specs], f"{config_class.__name__} and the [{table}] specs differ"
    assert fields == spec_defaults(specs)
    assert config_class() == config_class(**spec_defaults(specs))


def test_source_config_has_no_defaults_of_its_own() -> None:
    fields = {field.name: field for field in dataclasses.fields(SourceConfig) if field.name != "extra"}
    assert list(fields) == [spec.name for spec in SOURCE_FIELDS]
    assert all(field.default is dataclasses.MISSING for field in fields.values()), "defaults belong to SOURCE_FIELDS"


def test_settings_shared_with_the_sources_file_take_the_keys_defaults() -> None:
    built = build_settings()
    assert built["ARCHIVE_DB"] == str(DEFAULT_ARCHIVE_DB) == str(spec_defaults(ARCHIVE_FIELDS)["db"])
    assert same_value(built.getfloat("DOWNLOAD_DELAY"), source_default("download_delay"))
    assert built.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == source_default("concurrency")
    assert built.getbool("ROBOTSTXT_OBEY") is source_default("obey_robots")


def test_library_defaults_that_mirror_a_setting_agree_with_it() -> None:
    # extract_page, ExtractionPool and classify_page are plain functions usable without Scrapy; the
    # crawl always passes EXTRACT_MIN_TEXT_CHARS in, but their own defaults must not drift from it.
    minimum = build_settings().getint("EXTRACT_MIN_TEXT_CHARS")
    for function in (extract_page, ExtractionPool, classify_page):
        assert inspect.signature(function).parameters["min_text_chars"].default == minimum, function.__name__


def test_reader_limits_default_to_the_readers_own() -> None:
    """The discovery readers' keyword defaults (for library use) are the settings' defaults."""
    from crawler import settings
    from crawler.discovery import feeds, sitemaps

    assert settings.DISCOVERY_SITEMAP_MAX_BYTES == sitemaps.MAX_UNZIPPED_BYTES
    assert settings.DISCOVERY_SITEMAP_MAX_ENTRIES == sitemaps.MAX_ENTRIES
    assert settings.DISCOVERY_SITEMAP_MAX_TAGS == sitemaps.MAX_TAGS
    assert settings.DISCOVERY_FEED_MAX_NESTING == feeds.MAX_JSON_NESTING
    assert settings.DISCOVERY_FEED_MAX_TAGS == feeds.MAX_FEED_TAGS
