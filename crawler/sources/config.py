"""The sources file: which news sites to crawl, how, and where the archive lives.

``load_config(path)`` reads a TOML file (reference: docs/sources.md) with one ``[archive]`` table
and one ``[[sources]]`` table per site, checks everything, and returns a frozen :class:`Config`.
Every problem found is collected into one :class:`ConfigError` that names the file, the source and
the field, so a user fixes the whole file in one go and nothing is crawled from a broken file.

Every key and its default are declared once, as :class:`FieldSpec` entries: :data:`ARCHIVE_FIELDS`,
:data:`SOURCE_FIELDS` (the keys that are attributes of :class:`SourceConfig`, with ``schedule``,
``max_runtime`` and ``render_js`` from crawler.sources.ops_tables), :data:`EXTRA_SOURCE_FIELDS` (keys
added by later features; their parsed values land in ``SourceConfig.extra``) and the ops tables'
specs (``[scheduler]``, ``[health]``, ``[alerts]``, ``[metrics]``: crawler.sources.ops_tables). Whatever
else needs a default reads it from there: :data:`DEFAULT_ARCHIVE_DB` (also the ``ARCHIVE_DB``
setting's default) and :func:`source_default` (the CLI's help texts, and the ``DOWNLOAD_DELAY``,
``CONCURRENT_REQUESTS_PER_DOMAIN`` and ``ROBOTSTXT_OBEY`` settings' defaults in crawler/settings.py).
Every top-level table is listed in :data:`TOP_LEVEL_TABLES`; the raw file is in ``Config.raw``.
Callers can pass further specs and tables to :func:`load_config`.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from crawler.discovery.urls import host_key, url_host
from crawler.sources.distributed_table import DistributedConfig
from crawler.sources.fields import (  # noqa: F401 - InvalidValue, check_http_url: re-exported for feature modules
    FieldSpec,
    InvalidValue,
    _did_you_mean,
    _kind_of,
    _parse_table,
    _shown,
    check_http_url,
    compile_regex,
    float_parser,
    int_parser,
    invalid,
    list_parser,
    parse_bool,
    parse_path,
    spec_defaults,
    urllist_parser,
)
from crawler.sources.ops_tables import (
    OPS_TABLES,
    REVISIT_FIELDS,
    SCHEDULE_FIELDS,
    AlertsConfig,
    HealthConfig,
    MetricsConfig,
    RenderMode,
    Schedule,
    SchedulerConfig,
)

SOURCE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
DOCS_FILE = "docs/sources.md"


# --- errors -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with a sources file, located as precisely as possible."""

    file: Path | None
    problem: str
    source: str | None = None  # the source's name, when it has a usable one
    source_number: int | None = None  # 1-based position among [[sources]]; shown for unnamed or duplicate sources
    field: str | None = None  # e.g. "feeds[1]", or "archive.db" outside [[sources]]

    def __str__(self) -> str:
        where = []
        if self.source is not None:
            number = f" (#{self.source_number})" if self.source_number is not None else ""
            where.append(f"source {self.source!r}{number}")
        elif self.source_number is not None:
            where.append(f"source #{self.source_number}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        located = ", ".join(where)
        text = f"{located}: {self.problem}" if located else self.problem
        return f"{self.file}: {text}" if self.file is not None else text


class ConfigError(Exception):
    """The sources file (or an ad-hoc source) is unusable; ``problems`` lists every reason.

    ``file``, ``source``, ``field`` and ``problem`` describe the first problem, which is the only
    one in the common case; ``str(error)`` puts each problem on its own line.
    """

    def __init__(self, problems: ConfigProblem | Sequence[ConfigProblem]):
        self.problems: list[ConfigProblem] = [problems] if isinstance(problems, ConfigProblem) else list(problems)
        if not self.problems:
            raise ValueError("ConfigError needs at least one problem")
        first = self.problems[0]
        self.file: Path | None = first.file
        self.source: str | None = first.source
        self.field: str | None = first.field
        self.problem: str = first.problem
        super().__init__("\n".join(str(problem) for problem in self.problems))


def parse_source_name(value: Any) -> str:
    if not isinstance(value, str):
        raise invalid(f"expected a string, got {_shown(value)} ({_kind_of(value)})")
    if not SOURCE_NAME.match(value):
        suggestion = re.sub(r"[^A-Za-z0-9_-]+", "-", value).strip("-") or "my-source"
        raise invalid(f"{value!r} is not a valid name (use only letters, digits, '-' and '_', e.g. {suggestion!r})")
    return value


def parse_host(value: Any) -> str:
    """An ``allowed_hosts`` entry: a host name or IP address, with an optional port, nothing else."""
    example = "(e.g. 'cdn.news.example' or 'news.example:8443')"
    if not isinstance(value, str):
        raise invalid(f"expected a host name string, got {_shown(value)} ({_kind_of(value)}) {example}")
    try:
        parts = urlsplit(f"//{value.strip()}")
        host, _port = parts.hostname, parts.port  # .port raises on a port that is not a number
    except ValueError as error:
        raise invalid(f"{value!r} is not a host[:port]: {error} {example}") from None
    if not host or parts.path or parts.query or parts.fragment or parts.username is not None or "://" in value:
        raise invalid(f"{value!r} is not a host[:port] (no scheme, path or user name) {example}")
    return value.strip().lower()


SOURCE_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "name",
        "string",
        None,
        parse_source_name,
        required=True,
        example='"news-example"',
        doc="Unique name of the source; letters, digits, - and _. Stored with every page.",
    ),
    FieldSpec(
        "start_urls",
        "list of URLs",
        (),
        urllist_parser("https://news.example/"),
        doc="Pages the crawl starts from. Required unless feeds or sitemaps are given.",
    ),
    FieldSpec(
        "feeds",
        "list of URLs",
        (),
        urllist_parser("https://news.example/feed.xml"),
        doc="RSS, Atom or JSON Feed URLs; every item link is fetched.",
    ),
    FieldSpec(
        "sitemaps",
        "list of URLs",
        (),
        urllist_parser("https://news.example/sitemap.xml"),
        doc="Sitemap or sitemap index URLs; every listed page is fetched.",
    ),
    FieldSpec(
        "allowed_hosts",
        "list of hosts",
        (),
        list_parser(parse_host, "host names"),
        example='["cdn.news.example", "news.example:8443"]',
        doc="Further hosts (host or host:port) the crawl may reach besides those of its URLs.",
    ),
    FieldSpec(
        "follow_links",
        "boolean",
        True,
        parse_bool,
        doc="Follow links found on fetched pages (staying on the source's hosts).",
    ),
    FieldSpec(
        "article_urls",
        "list of regexes",
        (),
        list_parser(compile_regex, "regular expressions"),
        doc="Regular expressions (re.search) that mark article URLs; empty means every page is a candidate.",
    ),
    FieldSpec(
        "exclude_urls",
        "list of regexes",
        (),
        list_parser(compile_regex, "regular expressions"),
        doc="Regular expressions (re.search); matching URLs are never fetched.",
    ),
    FieldSpec(
        "max_pages", "integer >= 1", 5000, int_parser(1), doc="Most pages fetched from this source in one crawl."
    ),
    FieldSpec(
        "download_delay", "number >= 0", 1.0, float_parser(0.0), doc="Seconds between two requests to the same host."
    ),
    FieldSpec("concurrency", "integer >= 1", 2, int_parser(1), doc="Parallel requests per host."),
    FieldSpec("obey_robots", "boolean", True, parse_bool, doc="Respect robots.txt."),
    *SCHEDULE_FIELDS,
    *REVISIT_FIELDS,
)
# Keys added by later features go here (or are passed as extra_fields); their parsed values are
# found in SourceConfig.extra[name].
EXTRA_SOURCE_FIELDS: tuple[FieldSpec, ...] = ()

ARCHIVE_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "db",
        "path",
        Path("data/archive.db"),
        parse_path,
        doc="SQLite archive file; a relative path is relative to the sources file's folder, ~ is expanded.",
    ),
)
# The archive's default path, declared once (the spec above): also the ARCHIVE_DB setting's default
# (crawler/settings.py) and the CLI's archive without a sources file, where it is relative to the current folder.
DEFAULT_ARCHIVE_DB: Path = spec_defaults(ARCHIVE_FIELDS)["db"]


def source_default(name: str) -> Any:
    """The default of the source key ``name`` (its FieldSpec's), for help texts and the settings that share it.

    ``download_delay``, ``concurrency`` and ``obey_robots`` are the defaults of the DOWNLOAD_DELAY,
    CONCURRENT_REQUESTS_PER_DOMAIN and ROBOTSTXT_OBEY settings (crawler/settings.py reads them here).
    """
    defaults = spec_defaults((*SOURCE_FIELDS, *EXTRA_SOURCE_FIELDS))
    if name not in defaults:
        raise KeyError(f"{name!r} is not a source key; known keys: {', '.join(defaults)}")
    return defaults[name]


# Top-level tables of a sources file; tables passed as load_config(extra_tables=...) are accepted
# too and handed over untouched in Config.raw.
TOP_LEVEL_TABLES: tuple[str, ...] = ("archive", "sources", *OPS_TABLES)


# --- the parsed configuration --------------------------------------------------------------------


@dataclass(frozen=True)
class SourceConfig:
    """One news site to crawl; see docs/sources.md for what each field means.

    No defaults here: a source is built from a table parsed by SOURCE_FIELDS, whose specs hold them.
    """

    name: str
    start_urls: tuple[str, ...]
    feeds: tuple[str, ...]
    sitemaps: tuple[str, ...]
    allowed_hosts: tuple[str, ...]
    follow_links: bool
    article_urls: tuple[re.Pattern, ...]
    exclude_urls: tuple[re.Pattern, ...]
    max_pages: int
    download_delay: float
    concurrency: int
    obey_robots: bool
    schedule: Schedule | None
    max_runtime: float
    render_js: RenderMode
    revisit: tuple[float, ...]
    revisit_max_age: float
    revisit_budget: int
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    def hosts(self) -> frozenset[str]:
        """Lower-cased hosts of start_urls, feeds and sitemaps, without "www."."""
        urls = (*self.start_urls, *self.feeds, *self.sitemaps)
        return frozenset(host for host in map(url_host, urls) if host)


@dataclass(frozen=True)
class ArchiveConfig:
    db: Path


@dataclass(frozen=True)
class Config:
    path: Path | None
    archive: ArchiveConfig
    sources: tuple[SourceConfig, ...]
    raw: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    scheduler: SchedulerConfig = SchedulerConfig()
    health: HealthConfig = HealthConfig()
    alerts: AlertsConfig = AlertsConfig()
    metrics: MetricsConfig = MetricsConfig()
    distributed: DistributedConfig = DistributedConfig()  # [distributed] (crawler.sources.distributed_table)

    def source(self, name: str) -> SourceConfig:
        """The source called ``name``; ConfigError naming it and the known sources otherwise."""
        return self.select([name])[0]

    def select(self, names: Sequence[str]) -> tuple[SourceConfig, ...]:
        """The named sources in the order given (all sources when ``names`` is empty)."""
        if not names:
            return self.sources
        by_name = {source.name: source for source in self.sources}
        unknown = [name for name in names if name not in by_name]
        if unknown:
            raise ConfigError([_unknown_source_problem(self.path, name, list(by_name)) for name in unknown])
        return tuple(by_name[name] for name in names)


def _unknown_source_problem(file: Path | None, name: str, known: Sequence[str]) -> ConfigProblem:
    close = difflib.get_close_matches(name, known, n=1)
    suggestion = f"did you mean {close[0]!r}? " if close else ""
    return ConfigProblem(file, f"unknown source {name!r} ({suggestion}known sources: {', '.join(known) or 'none'})")


# --- loading -------------------------------------------------------------------------------------


def _source_specs(extra_fields: Sequence[FieldSpec]) -> tuple[FieldSpec, ...]:
    core_names = {spec.name for spec in SOURCE_FIELDS}
    clashes = [spec.name for spec in extra_fields if spec.name in core_names]
    if clashes:  # a programming error in a feature, not a user mistake
        raise ValueError(f"extra source fields {clashes} clash with SourceConfig attributes; rename them")
    return (*SOURCE_FIELDS, *extra_fields)


def _parse_source(
    table: Mapping[str, Any],
    number: int | None,
    file: Path | None,
    extra_fields: Sequence[FieldSpec],
    problems: list[ConfigProblem],
    name_is_duplicate: bool = False,
) -> SourceConfig | None:
    """Parse one [[sources]] table; None (with problems appended) when it is unusable."""
    raw_name = table.get("name")
    label = raw_name if isinstance(raw_name, str) and SOURCE_NAME.match(raw_name) else None
    shown_number = number if label is None or name_is_duplicate else None
    found_before = len(problems)

    def problem(message: str, field_name: str | None) -> None:
        problems.append(ConfigProblem(file, message, label, shown_number, field_name))

    specs = _source_specs(extra_fields)
    values = _parse_table(table, specs, problem, noun="source keys")
    entry_points = ("start_urls", "feeds", "sitemaps")
    # a present but invalid list already has its own problem; only report when all are truly empty
    entry_point_given = any(values.get(key) or (key in table and key not in values) for key in entry_points)
    if not entry_point_given:
        problem(
            'no start_urls, feeds or sitemaps (add at least one, e.g. start_urls = ["https://news.example/"])',
            "start_urls",
        )
    if len(problems) > found_before:
        return None
    extra_names = [spec.name for spec in extra_fields]
    core = {key: value for key, value in values.items() if key not in extra_names}
    extra = MappingProxyType({name: values[name] for name in extra_names})
    return SourceConfig(**core, extra=extra)


def _toml_syntax_problem(file: Path, error: tomllib.TOMLDecodeError) -> ConfigProblem:
    message = str(error)
    located = re.search(r"\s*\((at line (\d+), column (\d+)|at end of document)\)$", message)
    where = ""
    if located:
        message = message[: located.start()]
        where = f" at line {located[2]}, column {located[3]}" if located[2] else " at the end of the file"
    return ConfigProblem(
        file, f"TOML syntax error{where}: {message} (check quotes, brackets and commas there; see https://toml.io)"
    )


def _read_toml(file: Path) -> tuple[dict[str, Any] | None, list[ConfigProblem]]:
    try:
        with file.open("rb") as handle:
            return tomllib.load(handle), []
    except FileNotFoundError:
        return None, [ConfigProblem(file, f"file not found (check the path; {DOCS_FILE} has an example file)")]
    except IsADirectoryError:
        return None, [ConfigProblem(file, "is a folder, not a file (pass the path of the .toml sources file)")]
    except OSError as error:
        return None, [ConfigProblem(file, f"cannot read the file: {error.strerror} (check its permissions)")]
    except UnicodeDecodeError as error:
        return None, [
            ConfigProblem(file, f"is not UTF-8 text ({error.reason} at byte {error.start}; save it as UTF-8)")
        ]
    except tomllib.TOMLDecodeError as error:
        return None, [_toml_syntax_problem(file, error)]


def load_config(
    path: str | Path,
    extra_fields: Sequence[FieldSpec] = (),
    extra_tables: Collection[str] = (),
) -> Config:
    """Read and check a sources file; ConfigError lists every problem found.

    ``extra_fields`` are source keys beyond :data:`SOURCE_FIELDS` and :data:`EXTRA_SOURCE_FIELDS`
    (values in ``SourceConfig.extra``); ``extra_tables`` are further accepted top-level tables.
    """
    file = Path(path)
    data, problems = _read_toml(file)
    if data is None:
        raise ConfigError(problems)
    source_extra_fields = (*EXTRA_SOURCE_FIELDS, *extra_fields)
    known_tables = (*TOP_LEVEL_TABLES, *extra_tables)
    source_keys = {spec.name for spec in (*SOURCE_FIELDS, *source_extra_fields)}

    for key, value in data.items():
        if key in known_tables:
            if key != "sources" and not isinstance(value, dict):
                problems.append(
                    ConfigProblem(file, f"{key!r} must be a table (write a [{key}] header and put its keys below it)")
                )
        elif isinstance(value, dict):
            problems.append(
                ConfigProblem(file, f"unknown table [{key}] ({_did_you_mean(key, known_tables, 'tables')})")
            )
        elif key in source_keys:
            problems.append(ConfigProblem(file, "is outside any source (put it below a [[sources]] header)", field=key))
        else:
            problems.append(
                ConfigProblem(
                    file, f"unknown top-level key {key!r} ({_did_you_mean(key, known_tables, 'tables')})", field=key
                )
            )

    archive_table = data.get("archive", {})
    archive_values = _parse_table(
        archive_table if isinstance(archive_table, dict) else {},
        ARCHIVE_FIELDS,
        lambda message, field_name: problems.append(ConfigProblem(file, message, field=field_name)),
        field_prefix="archive.",
        noun="archive keys",
    )
    db = archive_values.get("db", DEFAULT_ARCHIVE_DB)
    archive = ArchiveConfig(db=db if db.is_absolute() else file.absolute().parent / db)

    ops = _parse_ops_tables(data, file, problems)

    tables = data.get("sources")
    sources: list[SourceConfig] = []
    if tables is None or tables == []:
        problems.append(
            ConfigProblem(
                file,
                f"no sources defined (add a [[sources]] table with a name and start_urls; {DOCS_FILE} has an example)",
            )
        )
    elif not isinstance(tables, list):
        problems.append(
            ConfigProblem(
                file,
                "must be an array of tables (write [[sources]], with double brackets, above each source)",
                field="sources",
            )
        )
    else:
        first_number: dict[str, int] = {}
        for number, table in enumerate(tables, start=1):
            if not isinstance(table, dict):
                problems.append(
                    ConfigProblem(
                        file,
                        f"expected a table, got {_shown(table)} (write each source as a [[sources]] table)",
                        source_number=number,
                    )
                )
                continue
            name = table.get("name")
            duplicate = isinstance(name, str) and name in first_number
            if duplicate:
                problems.append(
                    ConfigProblem(
                        file,
                        f"duplicate name {name!r}, already used by source #{first_number[name]} "
                        "(give every source a unique name)",
                        name,
                        number,
                        "name",
                    )
                )
            elif isinstance(name, str):
                first_number[name] = number
            source = _parse_source(table, number, file, source_extra_fields, problems, duplicate)
            if source is not None:
                sources.append(source)

    if problems:
        raise ConfigError(problems)
    return Config(path=file, archive=archive, sources=tuple(sources), raw=MappingProxyType(data), **ops)


def _parse_ops_tables(data: Mapping[str, Any], file: Path, problems: list[ConfigProblem]) -> dict[str, Any]:
    """[scheduler], [health], [alerts], [metrics]: typed, with paths relative to the sources file."""
    parsed: dict[str, Any] = {}
    for name, (specs, config_class) in OPS_TABLES.items():
        table = data.get(name, {})
        values = _parse_table(
            table if isinstance(table, dict) else {},
            specs,
            lambda message, field_name: problems.append(ConfigProblem(file, message, field=field_name)),
            field_prefix=f"{name}.",
            noun=f"{name} keys",
        )
        for key, value in values.items():
            if isinstance(value, Path) and not value.is_absolute():
                values[key] = file.absolute().parent / value
        parsed[name] = config_class(**values)
    return parsed


def adhoc_name(url: str) -> str:
    """A source name from a URL's host: "https://www.news.example/" -> "news-example"."""
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        host = ""
    return re.sub(r"[^A-Za-z0-9]+", "-", host_key(host)).strip("-") or "adhoc"


def adhoc_source(url: str, *, extra_fields: Sequence[FieldSpec] = (), **overrides: Any) -> SourceConfig:
    """A source for a one-off crawl of ``url`` (``newsarchive crawl https://news.example/``).

    The name comes from the host; ``overrides`` are source keys as in the sources file (lists may
    be tuples, regexes may be compiled) and are checked the same way; ConfigError otherwise.
    """
    table = {"name": adhoc_name(url), "start_urls": [url], **overrides}
    problems: list[ConfigProblem] = []
    source = _parse_source(table, None, None, (*EXTRA_SOURCE_FIELDS, *extra_fields), problems)
    if source is None:
        raise ConfigError(problems)
    return source
