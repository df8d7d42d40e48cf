"""The sources file loader: real TOML files on disk, checked the way a user would read them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crawler.sources.config import (
    Config,
    ConfigError,
    FieldSpec,
    adhoc_source,
    invalid,
    load_config,
    parse_bool,
)

DOCS = Path(__file__).resolve().parent.parent / "docs" / "sources.md"


def fenced_blocks(markdown: str, language: str) -> list[str]:
    """The fenced code blocks of a markdown text whose info string is ``language``, in order."""
    blocks = re.findall(r"^```(\w*)\n(.*?)^```$", markdown, flags=re.S | re.M)
    return [text for info, text in blocks if info == language]


def write_sources(folder: Path, text: str, name: str = "sources.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path | str, **kwargs) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, **kwargs)
    return str(caught.value).splitlines()


MINIMAL = '[[sources]]\nname = "example"\nstart_urls = ["https://news.example/"]\n'


def minimal_with(line: str) -> str:
    """MINIMAL with one key set to ``line`` (replacing the key if MINIMAL already has it)."""
    key = line.partition("=")[0].strip()
    kept = [kept_line for kept_line in MINIMAL.splitlines() if kept_line.partition("=")[0].strip() != key]
    return "\n".join([*kept, line]) + "\n"


def test_documented_example_file_loads_with_the_documented_meaning(tmp_path):
    example = fenced_blocks(DOCS.read_text(encoding="utf-8"), "toml")[0]
    config = load_config(write_sources(tmp_path, example))

    assert [source.name for source in config.sources] == ["example-news", "city_gazette"]
    assert config.archive.db == tmp_path / "data" / "archive.db"
    news, gazette = config.sources
    assert news.feeds == ("https://news.example/feed.xml",)
    assert news.max_pages == 2000 and news.download_delay == 2.0 and news.concurrency == 1
    assert any(p.search("https://news.example/2024/05/17/budget-vote/") for p in news.article_urls)
    assert not any(p.search("https://news.example/politics/") for p in news.article_urls)
    assert any(p.search("https://news.example/tag/budget/") for p in news.exclude_urls)
    assert news.hosts() == frozenset({"news.example"})
    # the documented defaults
    assert gazette.start_urls == () and gazette.follow_links is False
    assert (gazette.max_pages, gazette.download_delay, gazette.concurrency) == (5000, 1.0, 2)
    assert gazette.obey_robots is True and news.follow_links is True
    assert gazette.article_urls == () and gazette.exclude_urls == ()


def test_documented_error_example_is_exactly_what_the_loader_says(tmp_path, monkeypatch):
    docs = DOCS.read_text(encoding="utf-8")
    broken_file = fenced_blocks(docs, "toml")[1]
    documented_output = fenced_blocks(docs, "")[1].strip().splitlines()
    write_sources(tmp_path, broken_file)
    monkeypatch.chdir(tmp_path)  # the error shows the path as given
    assert problems_of("sources.toml") == documented_output


@pytest.mark.parametrize(
    "documented_line_start, file_text",
    [
        ("sources.toml: TOML syntax error at line 4, column 14:", '[[sources]]\nname = "a"\n\nmax_pages = 1O\n'),
        ("sources.toml: no sources defined", '[archive]\ndb = "x.db"\n'),
        ("sources.toml: field 'sources': must be an array of tables", '[sources]\nname = "a"\n'),
        (
            "sources.toml: source 'example', field 'download_delay': must be at least 0, got -1",
            MINIMAL + "download_delay = -1\n",
        ),
        (
            "sources.toml: source #2, field 'name': required key is missing",
            MINIMAL + '[[sources]]\nfeeds = ["https://b.example/rss"]\n',
        ),
        ("sources.toml: field 'start_urls': is outside any source", 'start_urls = ["https://a.example/"]\n' + MINIMAL),
        ("sources.toml: field 'archive.db': expected a file path string, got 5", "[archive]\ndb = 5\n" + MINIMAL),
    ],
)
def test_other_documented_messages(tmp_path, monkeypatch, documented_line_start, file_text):
    other_messages = fenced_blocks(DOCS.read_text(encoding="utf-8"), "")[2].splitlines()
    documented = [line for line in other_messages if line.startswith(documented_line_start)]
    assert len(documented) == 1, f"docs/sources.md lacks a message starting {documented_line_start!r}"
    write_sources(tmp_path, file_text)
    monkeypatch.chdir(tmp_path)
    lines = problems_of("sources.toml")
    assert len(lines) == 1
    # the syntax error's wording after the location comes from tomllib; the rest is ours
    assert lines[0].startswith(documented_line_start)
    if "syntax error" not in documented_line_start:
        assert lines == documented


def test_missing_file_is_one_clear_problem(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_config("sources.toml")
    error = caught.value
    assert str(error) == "sources.toml: file not found (check the path; docs/sources.md has an example file)"
    assert error.file == Path("sources.toml") and error.source is None and error.field is None


def test_folder_and_non_utf8_file_are_reported(tmp_path):
    assert "is a folder, not a file" in problems_of(tmp_path)[0]
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(MINIMAL.replace("example", "caf\xe9").encode("latin-1"))
    assert "is not UTF-8 text" in problems_of(latin1)[0]


def test_single_problem_has_the_exact_format_and_attributes(tmp_path, monkeypatch):
    write_sources(tmp_path, MINIMAL + 'feeds = ["https://news.example/feed.xml", "htp:/x"]\n')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_config("sources.toml")
    error = caught.value
    assert str(error) == (
        "sources.toml: source 'example', field 'feeds[1]': 'htp:/x' is not an http(s) URL "
        "(use a full URL such as https://news.example/feed.xml)"
    )
    assert (error.file, error.source, error.field) == (Path("sources.toml"), "example", "feeds[1]")
    assert error.problem.startswith("'htp:/x' is not an http(s) URL")
    assert len(error.problems) == 1


@pytest.mark.parametrize(
    "line, field, expected",
    [
        ("max_pages = true", "max_pages", "expected a whole number, got true (a boolean)"),
        ("max_pages = 10.0", "max_pages", "expected a whole number, got 10.0 (a number)"),
        ('max_pages = "10"', "max_pages", "expected a whole number, got '10' (a string)"),
        ("max_pages = 0", "max_pages", "must be at least 1, got 0"),
        ("concurrency = false", "concurrency", "expected a whole number, got false (a boolean)"),
        ("concurrency = 0", "concurrency", "must be at least 1, got 0"),
        ("download_delay = true", "download_delay", "expected a number, got true (a boolean)"),
        ("download_delay = inf", "download_delay", "must be a finite number, got inf"),
        ("follow_links = 1", "follow_links", "expected true or false, got 1 (an integer)"),
        ('obey_robots = "yes"', "obey_robots", "expected true or false, got 'yes' (a string)"),
        ('start_urls = ["ftp://news.example/"]', "start_urls[0]", "is not an http(s) URL"),
        ('start_urls = ["https:///path"]', "start_urls[0]", "has no host name"),
        ('start_urls = ["https://news.example:port/"]', "start_urls[0]", "is not a valid URL"),
        ('sitemaps = [" https://news.example/s.xml"]', "sitemaps[0]", "is not an http(s) URL"),
        ("sitemaps = [5]", "sitemaps[0]", "expected a URL string, got 5 (an integer)"),
        (
            'exclude_urls = ["a", "[b"]',
            "exclude_urls[1]",
            "'[b' is not a valid regular expression: unterminated character set",
        ),
        ('name = "a b"', "name", "'a b' is not a valid name"),
    ],
)
def test_wrong_values_name_source_field_and_problem(tmp_path, line, field, expected):
    path = write_sources(tmp_path, minimal_with(line))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    error = caught.value
    assert len(error.problems) == 1, str(error)
    assert error.field == field
    assert expected in error.problem
    assert error.file == path
    assert str(error).startswith(f"{path}: source ")


def test_numbers_accept_what_toml_users_write(tmp_path):
    config = load_config(write_sources(tmp_path, MINIMAL + "download_delay = 0\nmax_pages = 1\nconcurrency = 8\n"))
    source = config.source("example")
    assert source.download_delay == 0.0 and isinstance(source.download_delay, float)
    assert (source.max_pages, source.concurrency) == (1, 8)


def test_all_problems_of_a_file_are_reported_together(tmp_path):
    text = (
        MINIMAL + "max_pages = 0\nfeed = []\n"
        '[[sources]]\nname = "other"\nstart_urls = []\n'
        "[[sources]]\nname = 7\nstart_urls = ['https://c.example/']\n"
    )
    lines = problems_of(write_sources(tmp_path, text))
    assert len(lines) == 4
    assert "source 'example', field 'feed': unknown key 'feed' (did you mean 'feeds'?)" in lines[0]
    assert "source 'example', field 'max_pages'" in lines[1]
    assert "source 'other', field 'start_urls': no start_urls, feeds or sitemaps" in lines[2]
    assert "source #3, field 'name': expected a string, got 7 (an integer)" in lines[3]


def test_unknown_key_without_a_close_match_lists_the_known_keys(tmp_path):
    lines = problems_of(write_sources(tmp_path, MINIMAL + "colour = 'blue'\n"))
    assert "unknown key 'colour' (known source keys: allowed_hosts, article_urls, concurrency," in lines[0]


def test_feeds_or_sitemaps_alone_are_enough(tmp_path):
    text = '[[sources]]\nname = "f"\nfeeds = ["https://f.example/rss"]\n[[sources]]\nname = "s"\nsitemaps = ["https://WWW.S.example/sitemap.xml"]\n'
    config = load_config(write_sources(tmp_path, text))
    assert config.source("f").start_urls == ()
    assert config.source("s").hosts() == frozenset({"s.example"})


def test_invalid_start_urls_do_not_also_claim_they_are_missing(tmp_path):
    text = '[[sources]]\nname = "a"\nstart_urls = ["news.example"]\n'
    lines = problems_of(write_sources(tmp_path, text))
    assert len(lines) == 1 and "field 'start_urls[0]'" in lines[0]


def test_credentials_in_a_crawl_url_are_refused_without_being_repeated(tmp_path):
    """A crawl URL is stored in the archive and the logs: a password in it would be too."""
    text = (
        '[[sources]]\nname = "a"\nstart_urls = ["https://reader:hunter2@news.example/"]\n'
        'feeds = ["https://reader@news.example/rss"]\n'
    )
    lines = problems_of(write_sources(tmp_path, text))
    assert len(lines) == 2
    assert all("carries a user name or password" in line for line in lines)
    assert "field 'start_urls[0]'" in lines[0] and "'https://***@news.example/'" in lines[0]
    assert not any("hunter2" in line or "reader" in line for line in lines)


def test_a_webhook_may_carry_credentials_but_they_are_never_shown():
    from crawler.ops.alerts import redacted_url
    from crawler.sources.fields import check_http_url

    url = "https://bot:s3cret@hooks.example:8443/services/T0/B0/XYZ"
    assert check_http_url(url, "https://hooks.example/", credentials=True) == url
    assert redacted_url(url) == "https://hooks.example:8443/…"


def test_empty_sources_list_and_sources_of_the_wrong_type(tmp_path):
    assert "no sources defined" in problems_of(write_sources(tmp_path, "sources = []\n"))[0]
    lines = problems_of(write_sources(tmp_path, 'sources = ["a"]\n'))
    assert lines == [
        f"{tmp_path / 'sources.toml'}: source #1: expected a table, got 'a' (write each source as a [[sources]] table)"
    ]


def test_archive_db_is_relative_to_the_sources_file_folder(tmp_path, monkeypatch):
    folder = tmp_path / "project"
    folder.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    assert load_config(write_sources(folder, MINIMAL)).archive.db == folder / "data" / "archive.db"
    relative = load_config(write_sources(folder, '[archive]\ndb = "../store/news.db"\n' + MINIMAL))
    assert relative.archive.db == folder / ".." / "store" / "news.db"
    assert relative.archive.db.is_absolute()
    absolute_db = tmp_path / "abs.db"
    assert load_config(write_sources(folder, f"[archive]\ndb = '{absolute_db}'\n" + MINIMAL)).archive.db == absolute_db
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert (
        load_config(write_sources(folder, '[archive]\ndb = "~/news.db"\n' + MINIMAL)).archive.db
        == tmp_path / "home" / "news.db"
    )


def test_archive_table_rejects_unknown_keys(tmp_path):
    lines = problems_of(write_sources(tmp_path, '[archive]\ndatabase = "a.db"\n' + MINIMAL))
    assert lines == [
        f"{tmp_path / 'sources.toml'}: field 'archive.database': unknown key 'database' (known archive keys: db)"
    ]


def test_scheduler_table_is_typed_and_kept_raw(tmp_path):
    config = load_config(
        write_sources(tmp_path, '[scheduler]\nmax_parallel_crawls = 3\nlog_dir = "runlogs"\n' + MINIMAL)
    )
    assert config.raw["scheduler"] == {"max_parallel_crawls": 3, "log_dir": "runlogs"}
    assert config.scheduler.max_parallel_crawls == 3
    assert config.scheduler.log_dir == tmp_path / "runlogs"
    assert config.scheduler.timezone == "UTC"
    assert config.raw["sources"][0]["name"] == "example"


def test_unknown_tables_are_errors_unless_registered(tmp_path):
    path = write_sources(tmp_path, '[exports]\nformat = "warc"\n' + MINIMAL)
    assert problems_of(path) == [f"{path}: unknown table [exports] (did you mean 'alerts'?)"]
    assert load_config(path, extra_tables=["exports"]).raw["exports"] == {"format": "warc"}


def test_a_later_feature_adds_a_source_key_through_a_field_spec(tmp_path):
    def parse_runtime(value):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise invalid(f"expected seconds as a whole number above 0, got {value!r} (e.g. max_wait = 3600)")
        return value

    later_fields = [
        FieldSpec("archive_raw", "boolean", False, parse_bool, doc="Keep raw responses."),
        FieldSpec("max_wait", "integer > 0", None, parse_runtime),
    ]
    text = MINIMAL + "archive_raw = true\n[[sources]]\nname = 'b'\nstart_urls = ['https://b.example/']\n"
    path = write_sources(tmp_path, text)
    assert "unknown key 'archive_raw'" in problems_of(path)[0]

    config = load_config(path, extra_fields=later_fields)
    assert dict(config.source("example").extra) == {"archive_raw": True, "max_wait": None}
    assert dict(config.source("b").extra) == {"archive_raw": False, "max_wait": None}

    broken = write_sources(tmp_path, MINIMAL + "max_wait = -5\n")
    assert problems_of(broken, extra_fields=later_fields) == [
        f"{broken}: source 'example', field 'max_wait': expected seconds as a whole number above 0, got -5 (e.g. max_wait = 3600)"
    ]


def test_source_and_select_name_the_unknown_source_and_list_known_ones(tmp_path):
    text = MINIMAL + '[[sources]]\nname = "gazette"\nfeeds = ["https://g.example/rss"]\n'
    config = load_config(write_sources(tmp_path, text))
    assert config.select([]) == config.sources
    assert [s.name for s in config.select(["gazette", "example"])] == ["gazette", "example"]
    with pytest.raises(ConfigError) as caught:
        config.source("exampel")
    assert str(caught.value) == (
        f"{tmp_path / 'sources.toml'}: unknown source 'exampel' (did you mean 'example'? known sources: example, gazette)"
    )
    with pytest.raises(ConfigError) as caught:
        config.select(["nope", "example", "other"])
    assert len(caught.value.problems) == 2


def test_config_is_immutable(tmp_path):
    config = load_config(write_sources(tmp_path, MINIMAL))
    with pytest.raises(AttributeError):
        config.sources[0].max_pages = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.raw["archive"] = {}  # type: ignore[index]
    assert isinstance(config, Config)


def test_adhoc_source_takes_its_name_from_the_host():
    source = adhoc_source("https://www.News.Example/world/")
    assert source.name == "news-example"
    assert source.start_urls == ("https://www.News.Example/world/",)
    assert source.hosts() == frozenset({"news.example"})
    assert (source.max_pages, source.follow_links, source.obey_robots) == (5000, True, True)
    assert adhoc_source("http://127.0.0.1:8123/").name == "127-0-0-1"


def test_adhoc_source_checks_overrides_like_the_file():
    source = adhoc_source("https://news.example/", max_pages=3, article_urls=("/story/",), follow_links=False)
    assert source.max_pages == 3 and source.follow_links is False
    assert source.article_urls[0].search("https://news.example/story/1")

    with pytest.raises(ConfigError) as caught:
        adhoc_source("https://news.example/", max_pages=0, feeds=["nope"], depth=2)
    assert str(caught.value).splitlines() == [
        "source 'news-example', field 'depth': unknown key 'depth' (known source keys: allowed_hosts, article_urls, concurrency, "
        "download_delay, exclude_urls, feeds, follow_links, max_pages, max_runtime, name, obey_robots, render_js, "
        "revisit, revisit_budget, revisit_max_age, schedule, sitemaps, start_urls)",
        "source 'news-example', field 'feeds[0]': 'nope' is not an http(s) URL (use a full URL such as https://news.example/feed.xml)",
        "source 'news-example', field 'max_pages': must be at least 1, got 0",
    ]
    with pytest.raises(ConfigError) as caught:
        adhoc_source("news.example")
    assert caught.value.field == "start_urls[0]"
    assert caught.value.file is None
