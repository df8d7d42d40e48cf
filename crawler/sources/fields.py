"""Typed keys of TOML tables: a declarative spec per key, parsers that explain what is wrong.

Shared by every table of the sources file (``crawler.sources.config`` for ``[archive]`` and ``[[sources]]``,
``crawler.sources.ops_tables`` for ``[scheduler]``, ``[health]``, ``[alerts]``, ``[metrics]``). A parser
raises :class:`InvalidValue` with a message that says what is wrong and how to fix it.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class InvalidValue(Exception):
    """Raised by a field parser. Each entry is (suffix of the field name such as "[1]", problem)."""

    def __init__(self, entries: Sequence[tuple[str, str]]):
        self.entries = list(entries)
        super().__init__("; ".join(problem for _, problem in self.entries))


def invalid(problem: str, suffix: str = "") -> InvalidValue:
    return InvalidValue([(suffix, problem)])


# --- describing values in messages ---------------------------------------------------------------


def _kind_of(value: Any) -> str:
    kinds = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        tuple: "a list",
        dict: "a table",
    }
    return kinds.get(type(value), f"a {type(value).__name__}")


def _shown(value: Any) -> str:
    """A value as the user wrote it in TOML (true, not True)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _did_you_mean(word: str, known: Collection[str], noun: str) -> str:
    close = difflib.get_close_matches(word, sorted(known), n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"known {noun}: {', '.join(sorted(known))}"


# --- field specs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """One key of a table: its TOML type (for docs and errors), default, and parser.

    ``parse`` turns the TOML value into the Python value and raises :class:`InvalidValue` with a
    message that says what is wrong and how to fix it. ``default`` must be immutable; it is used
    as is when the key is omitted and ``required`` is false.
    """

    name: str
    kind: str
    default: Any
    parse: Callable[[Any], Any]
    required: bool = False
    doc: str = ""
    example: str = ""  # a TOML value, used in the docs and in "missing" messages


def spec_defaults(specs: Sequence[FieldSpec]) -> dict[str, Any]:
    """Each key's default, by name: what dataclasses and settings derive their defaults from.

    A key's default is declared once, in its FieldSpec; everything else reads it from here.
    """
    return {spec.name: spec.default for spec in specs}


def parse_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise invalid(f"expected true or false, got {_shown(value)} ({_kind_of(value)})")
    return value


def int_parser(minimum: int) -> Callable[[Any], int]:
    def parse_int(value: Any) -> int:
        # bool is a subclass of int in Python, but `max_pages = true` is a mistake in TOML
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid(f"expected a whole number, got {_shown(value)} ({_kind_of(value)})")
        if value < minimum:
            raise invalid(f"must be at least {minimum}, got {value}")
        return value

    return parse_int


def float_parser(minimum: float) -> Callable[[Any], float]:
    def parse_float(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise invalid(f"expected a number, got {_shown(value)} ({_kind_of(value)})")
        if not math.isfinite(value):
            raise invalid(f"must be a finite number, got {value}")
        if value < minimum:
            raise invalid(f"must be at least {minimum:g}, got {value:g}")
        return float(value)

    return parse_float


def list_parser(item_parser: Callable[[Any], Any], what: str) -> Callable[[Any], tuple]:
    """A parser for a list whose items are checked one by one; every bad item is reported."""

    def parse_list(value: Any) -> tuple:
        if isinstance(value, str):
            # a single-quoted TOML string keeps the value exactly as written, backslashes included
            raise invalid(f"expected a list of {what}, got a single string (write ['{value}'])")
        if not isinstance(value, (list, tuple)):
            raise invalid(f"expected a list of {what}, got {_shown(value)} ({_kind_of(value)})")
        parsed, entries = [], []
        for index, item in enumerate(value):
            try:
                parsed.append(item_parser(item))
            except InvalidValue as error:
                entries.extend((f"[{index}]{suffix}", problem) for suffix, problem in error.entries)
        if entries:
            raise InvalidValue(entries)
        return tuple(parsed)

    return parse_list


def check_http_url(url: Any, example: str, credentials: bool = False) -> str:
    """Return the URL unchanged if it is an absolute http(s) URL with a host. A user name or password
    in it (``https://user:secret@host/``) is refused unless ``credentials`` (a webhook may need them;
    a page to crawl never does, and its URL is stored in the archive and the logs)."""
    fix = f"use a full URL such as {example}"
    if not isinstance(url, str):
        raise invalid(f"expected a URL string, got {_shown(url)} ({_kind_of(url)}) ({fix})")
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port  # .port raises on a non-numeric port
    except ValueError as error:
        raise invalid(f"{without_credentials(url)!r} is not a valid URL: {error} ({fix})") from None
    if parts.scheme.lower() not in ("http", "https") or url != url.strip():
        raise invalid(f"{without_credentials(url)!r} is not an http(s) URL ({fix})")
    if not host:
        raise invalid(f"{without_credentials(url)!r} has no host name ({fix})")
    if not credentials and (parts.username is not None or parts.password is not None):
        raise invalid(
            f"{without_credentials(url)!r} carries a user name or password: newsarchive does not log in to "
            "sites, and every URL it crawls is stored in the archive and its logs (remove the part before "
            "'@'; a site that needs a login is not crawlable)"
        )
    return url


def without_credentials(url: str) -> str:
    """The URL with its user name and password, if any, replaced by ``***`` (for messages and logs)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.rpartition("@")[2] if "@" in url else url
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()


def urllist_parser(example: str) -> Callable[[Any], tuple[str, ...]]:
    return list_parser(lambda url: check_http_url(url, example), "URLs")


def compile_regex(pattern: Any) -> re.Pattern:
    if isinstance(pattern, re.Pattern):
        return pattern
    if not isinstance(pattern, str):
        raise invalid(f"expected a regular expression string, got {_shown(pattern)} ({_kind_of(pattern)})")
    try:
        return re.compile(pattern)
    except re.error as error:
        raise invalid(
            f"{pattern!r} is not a valid regular expression: {error} "
            "(fix the pattern; escape literal characters such as . ? + ( with a backslash, "
            "and in TOML use single quotes so backslashes stay as written)"
        ) from None


def parse_path(value: Any) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise invalid(f'expected a file path string, got {_shown(value)} ({_kind_of(value)}) (e.g. "data/archive.db")')
    return Path(value).expanduser()


def _parse_table(
    table: Mapping[str, Any],
    specs: Sequence[FieldSpec],
    problem: Callable[[str, str | None], None],
    field_prefix: str = "",
    noun: str = "keys",
) -> dict[str, Any]:
    """Parse the keys of one TOML table by ``specs``; report problems through ``problem``."""
    known = {spec.name: spec for spec in specs}
    values: dict[str, Any] = {}
    for key in table:
        if key not in known:
            problem(f"unknown key {key!r} ({_did_you_mean(key, known, noun)})", f"{field_prefix}{key}")
    for spec in specs:
        if spec.name not in table:
            if spec.required:
                problem(
                    f"required key is missing (add e.g. {spec.name} = {spec.example})", f"{field_prefix}{spec.name}"
                )
            else:
                values[spec.name] = spec.default
            continue
        try:
            values[spec.name] = spec.parse(table[spec.name])
        except InvalidValue as error:
            for suffix, message in error.entries:
                problem(message, f"{field_prefix}{spec.name}{suffix}")
        except (ValueError, TypeError, LookupError, OSError, ArithmeticError) as error:
            # A parser should raise InvalidValue only; one that lets a library's error through (a time
            # zone name that is a folder of the zone database, a number too large for a date) still
            # gives the user the file, source and field instead of a traceback.
            problem(
                f"{_shown(table[spec.name])} cannot be used: {type(error).__name__}: {error} "
                f"(expected {spec.kind}{f', e.g. {spec.example}' if spec.example else ''})",
                f"{field_prefix}{spec.name}",
            )
    return values
