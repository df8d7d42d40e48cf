"""Properties that hold for any input: URL canonicalisation on whatever a page puts in an href, and
the sources-file loader on any file a user (or a truncated copy, or a wrong file) can give it.

URLs: ``canonicalize_url`` keeps the promises of its docstring for every string: it returns an
absolute http(s) URL or raises ValueError, never anything else; the result is its own canonical
form, names the same host (case, IDN and a trailing dot aside) and port (the scheme's default
dropped), carries no user name, password or fragment, and parses; what the crawler does next with
a canonical URL (host checks, file and never-article rules, trap patterns, AMP) never raises.
tests/test_urls.py has the well-formed cases; here the generators reach the corners: IPv6 and IPv4
literals, unicode and malformed hosts, any port text, percent-escapes, userinfo, raw text.

Sources file: ``load_config`` on any TOML document built from the schema's keys with valid and
invalid values, on random bytes and on truncated valid files, returns a Config or raises
ConfigError whose every problem names the file (and the source and field where there is one);
no other exception gets out.
"""

from __future__ import annotations

import ipaddress
import math
import re
import string
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from crawler.discovery.urls import (
    DEFAULT_PORTS,
    canonicalize_url,
    host_key,
    is_on_hosts,
    looks_like_non_html,
    never_article_reason,
    strip_amp,
    url_host,
    url_pattern,
)
from crawler.sources.config import ARCHIVE_FIELDS, SOURCE_FIELDS, Config, ConfigError, FieldSpec, load_config
from crawler.sources.ops_tables import OPS_TABLES

PROPERTY = settings(max_examples=300, deadline=None)
FILES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# --- URLs -----------------------------------------------------------------------------------------

ASCII_LABEL = st.text(alphabet=string.ascii_letters + string.digits + "-", min_size=1, max_size=12)
UNICODE_LABEL = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters="/?#@:[]\\%."),
    min_size=1,
    max_size=8,
)
DOMAIN = st.lists(
    ASCII_LABEL | UNICODE_LABEL | st.sampled_from(["bücher", "пример", "例え", "WWW", "xn--n3h"]),
    min_size=1,
    max_size=4,
).map(".".join)
IPV4 = st.ip_addresses(v=4).map(str)
IPV6 = st.ip_addresses(v=6).map(lambda address: f"[{address}]")
HOST = DOMAIN | DOMAIN.map(lambda host: host + ".") | IPV4 | IPV6
PORT = (
    st.none()
    | st.integers(min_value=0, max_value=65535).map(str)
    | st.sampled_from(["", "80", "443", "080", "99999", "x"])
)
USERINFO = st.none() | st.sampled_from(["user", "user:secret", ":", "a%40b:p%3Ass", "us er"])
PERCENT = st.sampled_from(["%20", "%2F", "%2f", "%C3%A9", "%e2%82%ac", "%00", "%zz", "%", "%4", "%25"])
PATH_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="?#")
SEGMENT = st.lists(PATH_CHARS | PERCENT | st.sampled_from([";jsessionid=A1", ".", "..", "amp"]), max_size=6).map(
    "".join
)
QUERY_TEXT = st.lists(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="#&=") | PERCENT | st.just("+"), max_size=6
).map("".join)
QUERY_KEY = QUERY_TEXT | st.sampled_from(["utm_source", "UTM_Medium", "fbclid", "amp", "page", "id", "outputType"])


@st.composite
def structured_urls(draw: st.DrawFn) -> tuple[str, str, str, str | None]:
    """(URL, scheme, host, port text) of a URL built part by part, every part possibly odd."""
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "HtTpS"]))
    host = draw(HOST)
    port = draw(PORT)
    userinfo = draw(USERINFO)
    segments = draw(st.lists(SEGMENT, max_size=4))
    pairs = draw(st.lists(st.tuples(QUERY_KEY, st.none() | QUERY_TEXT), max_size=4))
    fragment = draw(st.none() | st.text(max_size=8))
    netloc = (f"{userinfo}@" if userinfo is not None else "") + host + (f":{port}" if port is not None else "")
    url = f"{scheme}://{netloc}" + "".join("/" + segment for segment in segments)
    if pairs:
        url += "?" + "&".join(key if value is None else f"{key}={value}" for key, value in pairs)
    if fragment is not None:
        url += "#" + fragment
    return url, scheme.lower(), host, port


RAW_TEXT = (
    st.text(max_size=60)
    | st.text(max_size=40).map(lambda text: "http://" + text)
    | st.text(max_size=40).map(lambda text: "https://" + text)
    | st.text(alphabet=":/[]@%.?#0123456789abcdefHTPS ", max_size=40)
)


CANONICAL_HOST = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*|[0-9a-f]*:[0-9a-f:.]*(%25[0-9a-z._~-]+)?")


def canonical_or_value_error(url: str) -> str | None:
    """canonicalize_url's documented contract: an http(s) URL, or ValueError; anything else fails the test."""
    try:
        return canonicalize_url(url)
    except ValueError:
        return None


def assert_canonical(canonical: str) -> None:
    """What the docstring promises of a canonical URL, checked on the URL itself."""
    assert canonicalize_url(canonical) == canonical  # idempotent
    parts = urlsplit(canonical)  # parses
    assert parts.scheme in DEFAULT_PORTS
    # A host name (lower case, punycode) or an IP literal: never empty, never a space or control character.
    assert CANONICAL_HOST.fullmatch(parts.hostname or ""), canonical
    assert "@" not in parts.netloc  # no user name or password
    assert parts.fragment == "" and "#" not in canonical
    assert parts.port != DEFAULT_PORTS[parts.scheme]  # .port parses; a default port is dropped
    assert not any(character.isspace() for character in canonical)
    # What the crawler does next with a canonical URL never raises.
    assert is_on_hosts(canonical, [parts.hostname])
    url_host(canonical)
    looks_like_non_html(canonical)
    never_article_reason(canonical)
    url_pattern(canonical)
    strip_amp(canonical)


@PROPERTY
@given(RAW_TEXT)
@example("")
@example("http://")
@example("http://[::1")
@example("http://a\u2100b/")
@example("https://user:pass@/")
@example("http://[::1]:99999/")
def test_canonicalize_any_text_gives_a_canonical_url_or_value_error(text: str) -> None:
    canonical = canonical_or_value_error(text)
    if canonical is not None:
        assert_canonical(canonical)


@PROPERTY
@given(structured_urls())
def test_canonicalize_keeps_scheme_host_and_port_and_drops_the_rest(
    generated: tuple[str, str, str, str | None],
) -> None:
    url, scheme, host, port = generated
    canonical = canonical_or_value_error(url)
    if canonical is None:
        return
    assert_canonical(canonical)
    parts = urlsplit(canonical)
    assert parts.scheme == scheme
    literal = host.strip("[]")
    if _is_ip(literal):
        assert ipaddress.ip_address(parts.hostname) == ipaddress.ip_address(literal)
    else:
        assert host_key(parts.hostname) == host_key(host)  # same host: case, IDN and trailing dot aside
    if port in (None, "") or int(port) == DEFAULT_PORTS[scheme]:  # "080" is port 80
        assert parts.port is None
    else:
        assert parts.port == int(port)


@PROPERTY
@given(structured_urls())
def test_a_well_formed_url_is_always_canonicalized(generated: tuple[str, str, str, str | None]) -> None:
    """A URL whose host and port are valid is never refused: a link is lost only when it names no server."""
    url, _, host, port = generated
    assume(port is None or (port.isdigit() and 0 < int(port) < 65536))
    assume(_is_ip(host.strip("[]")) or _valid_dns_name(host))
    assert canonical_or_value_error(url) is not None, url


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _valid_dns_name(host: str) -> bool:
    labels = host.rstrip(".").split(".")
    return all(
        0 < len(label) <= 63
        and label[0] != "-"
        and label[-1] != "-"
        and all(c in string.ascii_letters + string.digits + "-" for c in label)
        for label in labels
    )


# --- the sources file -----------------------------------------------------------------------------


def toml_string(text: str) -> str:
    escaped = "".join(
        "\\\\" if c == "\\" else '\\"' if c == '"' else f"\\u{ord(c):04x}" if ord(c) < 32 or ord(c) == 127 else c
        for c in text
    )
    return f'"{escaped}"'


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_string(key)} = {toml_value(item)}" for key, item in value.items()) + "}"
    raise TypeError(f"no TOML for {value!r}")


PLAUSIBLE_TEXT = st.sampled_from(
    [
        "https://news.example/",
        "https://news.example/feed.xml",
        "http://[::1]:8080/",
        "https://user:pw@news.example/",
        "ftp://news.example/",
        "news.example",
        "every 30m",
        "every 0s",
        "every 1e9d",
        "*/30 * * * *",
        "61 * * * *",
        "2h",
        "0s",
        "UTC",
        "Europe/Berlin",
        "Europe",
        "../../../etc/passwd",
        "/",
        "",
        " ",
        "auto",
        "never",
        "always",
        "(unclosed",
        "[a-z",
        "example-news",
        "bad name!",
        "data/archive.db",
        "~/archive.db",
        "\x00",
        "x" * 300,
        "every 99999999999999999999999d",
        "99999999999999999999999d",
    ]
)
SCALAR = (
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats()
    | st.text(max_size=20)
    | PLAUSIBLE_TEXT
)
TOML_VALUE = st.recursive(
    SCALAR,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)
# Values for a key: mostly the kinds a user writes (plausible text, numbers including nan and inf,
# lists of those), sometimes any TOML value.
EDGES = st.sampled_from([float("nan"), float("inf"), -float("inf"), 0, -1, 0.0, 2**63 - 1, "", [], {}, [""], [[]]])
KEY_VALUE = st.one_of(EDGES, PLAUSIBLE_TEXT, SCALAR, st.lists(PLAUSIBLE_TEXT | SCALAR, max_size=3), TOML_VALUE)


def valid_text(spec: FieldSpec) -> str | None:
    """A valid TOML value for the key: its documented example, else its default (None: leave it out)."""
    if spec.example:
        return spec.example
    default = spec.default
    if default is None:
        return None
    if isinstance(default, Path | StrEnum):
        default = str(default)
    if isinstance(default, tuple):
        default = list(default)
    return toml_value(default)


TABLES: dict[str, tuple[FieldSpec, ...]] = {
    "archive": ARCHIVE_FIELDS,
    **{name: specs for name, (specs, _) in OPS_TABLES.items()},
}
OPTIONAL_SOURCE_FIELDS = [spec for spec in SOURCE_FIELDS if spec.name not in ("name", "start_urls")]


@st.composite
def valid_documents(draw: st.DrawFn) -> list[tuple[str, list[list[str]]]]:
    """A valid sources file as (header, [[key, value text], ...]) sections: any of the tables, with any
    of their keys at a valid value, and one to three sources."""
    sections: list[tuple[str, list[list[str]]]] = []
    for name in draw(st.lists(st.sampled_from(list(TABLES)), unique=True, max_size=len(TABLES))):
        specs = draw(st.lists(st.sampled_from(TABLES[name]), unique_by=lambda spec: spec.name, max_size=4))
        sections.append((f"[{name}]", [[spec.name, text] for spec in specs if (text := valid_text(spec))]))
    for number in range(draw(st.integers(min_value=1, max_value=3))):
        specs = draw(st.lists(st.sampled_from(OPTIONAL_SOURCE_FIELDS), unique_by=lambda spec: spec.name, max_size=6))
        keys = [["name", toml_string(f"source-{number}")], ["start_urls", '["https://news.example/"]']]
        sections.append(("[[sources]]", keys + [[spec.name, text] for spec in specs if (text := valid_text(spec))]))
    return sections


def rendered(sections: list[tuple[str, list[list[str]]]]) -> str:
    return "".join(f"{header}\n" + "".join(f"{key} = {text}\n" for key, text in keys) for header, keys in sections)


@st.composite
def mutated_documents(draw: st.DrawFn) -> str:
    """A valid sources file with one to three keys of the schema set to any value (present or not
    before), removed, or misspelt."""
    sections = draw(valid_documents())
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        header, keys = draw(st.sampled_from(sections))
        specs = SOURCE_FIELDS if header == "[[sources]]" else TABLES[header.strip("[]")]
        change = draw(st.sampled_from(["value", "value", "value", "value", "remove", "misspell"]))
        if change == "remove" and keys:
            del keys[draw(st.integers(min_value=0, max_value=len(keys) - 1))]
        elif change == "misspell":
            keys.append([toml_string(draw(st.sampled_from(["nmae", "feed", "x", ""]))), toml_value(draw(KEY_VALUE))])
        else:
            name = draw(st.sampled_from([spec.name for spec in specs]))
            keys[:] = [key for key in keys if key[0] != name] + [[name, toml_value(draw(KEY_VALUE))]]
    return rendered(sections)


def load_or_config_error(path: Path) -> Config | None:
    """load_config's contract: a Config, or ConfigError whose every problem names the file."""
    try:
        return load_config(path)
    except ConfigError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.file == path and str(path) in str(problem)
            assert problem.problem.strip()
        assert str(path) in str(error)
        return None


@FILES
@given(valid_documents())
def test_a_document_of_valid_values_loads(tmp_path: Path, sections) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(rendered(sections), encoding="utf-8")
    config = load_config(path)
    assert [source.name for source in config.sources] == [f"source-{n}" for n in range(len(config.sources))]
    assert_usable(config)


@FILES
@given(mutated_documents())
def test_any_sources_document_loads_or_names_file_source_and_field(tmp_path: Path, document: str) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(document, encoding="utf-8")
    try:
        config = load_config(path)
    except ConfigError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.file == path and str(problem).startswith(f"{path}: ")
            if problem.field is not None:
                assert f"field {problem.field!r}" in str(problem)
            if problem.source is not None:
                assert f"source {problem.source!r}" in str(problem)
        return
    assert_usable(config)


SCHEMA_KEYS = [("sources", spec.name) for spec in SOURCE_FIELDS] + [
    (table, spec.name) for table, specs in TABLES.items() for spec in specs
]


@FILES
@given(key=st.sampled_from(SCHEMA_KEYS), value=KEY_VALUE)
@example(key=("sources", "max_runtime"), value=float("nan"))
@example(key=("sources", "revisit"), value=[float("nan")])
@example(key=("sources", "schedule"), value="every 99999999999999999999999d")
@example(key=("scheduler", "timezone"), value="Europe")
@example(key=("scheduler", "timezone"), value="x" * 300)
@example(key=("sources", "start_urls"), value=["http://[::1"])
def test_any_value_of_any_key_loads_or_the_error_names_that_key(
    tmp_path: Path, key: tuple[str, str], value: Any
) -> None:
    table, name = key
    source = '[[sources]]\nname = "news"\nstart_urls = ["https://news.example/"]\n'
    if table == "sources":
        source = "\n".join(line for line in source.splitlines() if not line.startswith(f"{name} =")) + "\n"
        document, field, where = f"{source}{name} = {toml_value(value)}\n", name, "news"
    else:
        document, field, where = f"[{table}]\n{name} = {toml_value(value)}\n{source}", f"{table}.{name}", None
    path = tmp_path / "sources.toml"
    path.write_text(document, encoding="utf-8")
    try:
        config = load_config(path)
    except ConfigError as error:
        named = [problem for problem in error.problems if (problem.field or "").split("[")[0] == field]
        assert named, str(error)  # the key the user got wrong is the one the message names
        for problem in named:
            assert str(problem).startswith(f"{path}: ") and f"field {problem.field!r}" in str(problem)
            if where is not None and name != "name":
                assert f"source {where!r}" in str(problem)
        return
    assert_usable(config)


def assert_usable(config: Config) -> None:
    """What the scheduler and the crawl do with a loaded file works: no number is NaN, and an
    interval schedule fits a timedelta (APScheduler's IntervalTrigger builds one)."""
    for source in config.sources:
        numbers = [source.download_delay, source.max_runtime, source.revisit_max_age, *source.revisit]
        assert not any(math.isnan(number) for number in numbers), source
        if source.schedule is not None and source.schedule.interval_seconds is not None:
            timedelta(seconds=source.schedule.interval_seconds)


VALID = """[archive]
db = "data/archive.db"

[scheduler]
log_dir = "logs"

[[sources]]
name = "example-news"
start_urls = ["https://news.example/"]
feeds = ["https://news.example/feed.xml"]
sitemaps = ["https://news.example/sitemap.xml"]
article_urls = ['/\\d{4}/\\d{2}/\\d{2}/']
max_pages = 2000
download_delay = 2.0
schedule = "every 30m"
render_js = "never"

[[sources]]
name = "city_gazette"
feeds = ["https://gazette.example/rss"]
"""


def test_the_valid_document_of_these_properties_loads(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(VALID, encoding="utf-8")
    assert [source.name for source in load_config(path).sources] == ["example-news", "city_gazette"]


@FILES
@given(cut=st.integers(min_value=0, max_value=len(VALID.encode())))
def test_a_truncated_sources_file_loads_or_gives_a_config_error(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "sources.toml"
    path.write_bytes(VALID.encode()[:cut])
    load_or_config_error(path)


@FILES
@given(st.binary(max_size=300) | st.binary(max_size=40).map(lambda junk: VALID.encode()[:200] + junk))
def test_random_bytes_as_a_sources_file_give_a_config_error(tmp_path: Path, body: bytes) -> None:
    path = tmp_path / "sources.toml"
    path.write_bytes(body)
    load_or_config_error(path)
