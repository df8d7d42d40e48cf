"""Site boilerplate learned per source, syndication notes as a field, copies pointing at originals.

The rules (crawler/extraction/boilerplate.py, crawler/extraction/syndication.py) as plain
functions; extraction through the real ``extract_page`` (trafilatura); the pipeline in process
over a real archive file (learning, the re-cleaning of a run's first articles, the next run cleaned
from its first page); the archive's copy/original direction on real SQLite.
"""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from archive import Archive
from crawler.extraction.boilerplate import BUCKET_PAGES, WINDOW_PAGES, SiteBoilerplate, line_fingerprint, line_key
from crawler.extraction.extract import extract_page
from pipelines.archive import ArchivePipeline
from pipelines.boilerplate import BoilerplatePipeline
from tests.newssite import prose
from tests.test_pipelines_inprocess import Crawl, rows

FOOTER = "Independent local journalism needs your support: subscribe from $1 a week."
TIP_LINE = "Got a story tip? Email the newsroom at tips@example.org or call 555-0142."


def article_text(seed: int, paragraphs: int = 5) -> str:
    rng = random.Random(seed)
    templates = prose.sentence_templates("en")
    return "\n\n".join(prose.paragraph(rng, "en", "politics", templates) for _ in range(paragraphs))


def learned_model(articles: int = 12, **kwargs: Any) -> SiteBoilerplate:
    model = SiteBoilerplate(**kwargs)
    for seed in range(articles):
        model.observe(f"{article_text(seed)}\n\n{FOOTER}")
    return model


# --- the rules -------------------------------------------------------------------------------------


def test_a_line_on_most_articles_is_removed_once_enough_articles_were_seen() -> None:
    text = f"{article_text(100)}\n\n{FOOTER}"
    early = learned_model(articles=5)
    assert early.clean(text).text == text  # 5 articles < BOILERPLATE_MIN_PAGES (10): a short source teaches nothing
    model = learned_model(articles=12)
    cleaned = model.clean(text)
    assert cleaned.removed == (FOOTER,)
    assert cleaned.text == article_text(100)
    assert model.learned() == [FOOTER]


def test_lines_are_compared_with_digits_case_and_spacing_folded() -> None:
    assert line_key("© 2024  The Gazette.") == line_key("© 2025 the gazette.")
    model = SiteBoilerplate()
    for seed in range(12):
        model.observe(f"{article_text(seed)}\n\n© {2010 + seed} The Gazette. All rights reserved.")
    assert model.clean(f"{article_text(99)}\n\n© 2031 The Gazette. All rights reserved.").text == article_text(99)


def test_a_sentence_some_articles_share_is_not_boilerplate() -> None:
    shared = "The company did not respond to a request for comment."
    model = SiteBoilerplate()
    for seed in range(40):
        extra = f"\n\n{shared}" if seed % 10 == 0 else ""  # 10 %: below BOILERPLATE_MIN_SHARE
        model.observe(f"{article_text(seed)}{extra}")
    text = f"{article_text(200)}\n\n{shared}"
    assert model.clean(text).text == text


def test_a_long_recurring_paragraph_inside_the_text_is_kept_but_not_at_its_edges() -> None:
    background = " ".join(["The war began in February 2022 when troops crossed the border at dawn."] * 3)
    model = SiteBoilerplate()
    for seed in range(12):
        model.observe(f"{article_text(seed, 2)}\n\n{background}\n\n{article_text(seed + 50, 2)}")
    inside = f"{article_text(300, 2)}\n\n{background}\n\n{article_text(301, 2)}"
    assert model.clean(inside).text == inside  # 39 words inside the text: a running story's background
    closing = f"{article_text(302, 2)}\n\n{background}"
    assert model.clean(closing).text == article_text(302, 2)


def test_a_text_that_is_mostly_learned_lines_is_kept_whole() -> None:
    model = learned_model()
    text = f"Short note.\n\n{FOOTER}"
    assert model.clean(text).text == text


def test_counting_stays_bounded_and_follows_recent_articles() -> None:
    model = SiteBoilerplate()
    for seed in range(4 * WINDOW_PAGES):
        footer = FOOTER if seed < WINDOW_PAGES else TIP_LINE  # the template changed
        word = "".join(chr(ord("a") + int(digit)) for digit in str(seed))  # digits would fold to one line
        model.observe(f"line {word} only here\nanother unique line {word}\n\n{footer}")
    assert len(model._entries) <= 2 * BUCKET_PAGES * 2 + 2  # unique lines are forgotten
    assert model.pages < 2 * WINDOW_PAGES
    assert model.learned() == [TIP_LINE]  # the old template's line fell below the share


def test_state_survives_a_round_trip_through_the_archive_rows() -> None:
    model = learned_model()
    restored = SiteBoilerplate.restore(model.pages, model.persisted())
    assert restored.learned() == [FOOTER]
    assert restored.clean(f"{article_text(7)}\n\n{FOOTER}").removed == (FOOTER,)


# --- syndication notes ------------------------------------------------------------------------------


def page(body: str, lang: str = "en") -> bytes:
    paragraphs = "".join(f"<p>{p}</p>" for p in article_text(5).split("\n\n"))
    return (
        f'<html lang="{lang}"><head><title>A story</title><meta property="og:type" content="article"></head>'
        f"<body><article><h1>A story</h1>{paragraphs}{body}</article></body></html>"
    ).encode()


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        (
            '<p><em>This article first appeared in <a href="/orig/story">The Courier</a> on 3 May.</em></p>',
            "https://copy.example/orig/story",
        ),
        (
            "<p>This article was originally published on The Conversation. Read the original article.</p>",
            "The Conversation",
        ),
        ("<p>Republished with permission from Grist.</p>", "Grist"),
        ("<p><i>Dieser Artikel erschien zuerst bei Zeit Online.</i></p>", "Zeit Online"),
        ("<p>Cet article a été initialement publié dans Le Monde.</p>", "Le Monde"),
        ("<p>Este artículo fue publicado originalmente en El País.</p>", "El País"),
    ],
)
def test_a_syndication_note_becomes_a_field_not_text(note: str, expected: str) -> None:
    fields = extract_page(page(note), "https://copy.example/news/story/")
    assert fields["syndicated_from"] == expected
    assert expected.split("/")[-1] not in fields["text"] or expected.startswith("http")
    assert "first appeared" not in fields["text"] and "originally published" not in fields["text"]
    assert "erschien zuerst" not in fields["text"] and "publié" not in fields["text"]
    assert article_text(5).split("\n\n")[0] in fields["text"]


@pytest.mark.parametrize(
    "line",
    [
        "<p>First published on Mon 12 May 2024 10.00 BST</p>",  # a dateline
        "<p>Published by Jane Doe</p>",  # a byline
        "<p>The photo first appeared on a social network and was shared by many people who saw it.</p>",
    ],
)
def test_lines_that_only_look_like_notes_stay(line: str) -> None:
    fields = extract_page(page(line), "https://copy.example/news/story/")
    assert fields["syndicated_from"] is None


# --- the archive: copies point at their original ------------------------------------------------------


def article(url: str, text: str, published: str, **extra: Any) -> dict[str, Any]:
    return {"url": url, "source": "s", "title": "T", "text": text, "published_at": published, **extra}


def fetch(url: str) -> dict[str, Any]:
    return {"url": url, "status": 200, "found_by": "link"}


def test_a_copy_met_before_its_original_ends_up_pointing_at_it(tmp_path: Path) -> None:
    original_text = article_text(1, 8)
    copy_text = original_text.replace("\n\n", "\n\nEdited by the wire desk.\n\n", 1)
    with Archive(tmp_path / "a.db") as archive:
        run = archive.start_run("s")
        copy = archive.save_article(
            run,
            article(
                "https://b.example/wire/1", copy_text, "2024-05-02T10:00:00Z", syndicated_from="https://a.example/1"
            ),
            fetch("https://b.example/wire/1"),
        )
        original = archive.save_article(
            run, article("https://a.example/1", original_text, "2024-05-01T10:00:00Z"), fetch("https://a.example/1")
        )
        later = archive.save_article(
            run,
            article("https://c.example/1", copy_text + "\n\nOne more line.", "2024-05-03T10:00:00Z"),
            fetch("https://c.example/1"),
        )
    with sqlite3.connect(tmp_path / "a.db") as connection:
        links = dict(connection.execute("SELECT id, near_duplicate_of FROM articles"))
        stored = connection.execute("SELECT syndicated_from FROM articles WHERE id = ?", [copy.article_id]).fetchone()
    assert links == {
        copy.article_id: original.article_id,
        original.article_id: None,
        later.article_id: original.article_id,
    }
    assert stored == ("https://a.example/1",)


def test_without_a_note_the_earlier_publication_is_the_original(tmp_path: Path) -> None:
    text = article_text(2, 8)
    with Archive(tmp_path / "a.db") as archive:
        run = archive.start_run("s")
        first_met = archive.save_article(
            run,
            article("https://b.example/2", text + "\n\nVia the wire.", "2024-05-09T00:00:00Z"),
            fetch("https://b.example/2"),
        )
        earlier = archive.save_article(
            run, article("https://a.example/2", text, "2024-05-01T00:00:00Z"), fetch("https://a.example/2")
        )
    with sqlite3.connect(tmp_path / "a.db") as connection:
        links = dict(connection.execute("SELECT id, near_duplicate_of FROM articles"))
    assert links == {first_met.article_id: earlier.article_id, earlier.article_id: None}


def test_declared_and_detected_languages_are_stored(tmp_path: Path) -> None:
    with Archive(tmp_path / "a.db") as archive:
        run = archive.start_run("s")
        archive.save_article(
            run,
            article(
                "https://a.example/3",
                article_text(3),
                "2024-05-01",
                language="zu",
                language_declared="en",
                language_detected="zu",
            ),
            fetch("https://a.example/3"),
        )
    with sqlite3.connect(tmp_path / "a.db") as connection:
        assert connection.execute("SELECT language, language_declared, language_detected FROM articles").fetchone() == (
            "zu",
            "en",
            "zu",
        )


# --- the pipeline, in process, over a real archive ----------------------------------------------------

SITE = "https://www.continentalherald.example"


def template_page(seed: int, footer: str = FOOTER) -> bytes:
    paragraphs = "".join(f"<p>{p}</p>" for p in article_text(seed).split("\n\n"))
    return (
        f'<html lang="en"><head><meta charset="utf-8"><title>Story {seed}</title>'
        '<meta property="og:type" content="article"><meta name="author" content="Ann Lee">'
        '<meta property="article:published_time" content="2024-05-01T10:00:00Z"></head>'
        f"<body><article><h1>Story {seed}</h1>{paragraphs}<p>{footer}</p></article></body></html>"
    ).encode()


def texts(db: Path) -> list[str]:
    with sqlite3.connect(db) as connection:
        return [text for (text,) in connection.execute("SELECT text FROM articles ORDER BY id")]


def test_the_pipeline_learns_cleans_the_first_articles_again_and_remembers(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    with Crawl(db) as first:
        items = [first.page(f"{SITE}/news/2024/05/01/story-{seed}", template_page(seed)) for seed in range(14)]
        first.close()
    assert [type(p) for p in first.items.middlewares][1] is BoilerplatePipeline
    # The first 9 went to the archive before anything was learned; the run cleaned them when it ended.
    assert FOOTER in items[0].fields["text"] and FOOTER not in items[13].fields["text"]
    stored = texts(db)
    assert len(stored) == 14 and not any(FOOTER in text for text in stored)
    stats = first.crawler.stats
    assert stats.get_value("newsarchive/boilerplate/articles_recleaned") == 9
    assert stats.get_value("newsarchive/boilerplate/lines_learned") == 1
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT line FROM boilerplate_lines WHERE pages >= 14").fetchall() == [(FOOTER,)]
        hashes = connection.execute("SELECT count(DISTINCT content_hash), count(*) FROM articles").fetchone()
        fts = connection.execute("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'journalism'").fetchone()
    assert hashes == (14, 14) and fts == (0,)  # hash and full-text index follow the cleaned text

    with Crawl(db) as second:
        item = second.page(f"{SITE}/news/2024/05/02/story-new", template_page(77))
        second.close()
    assert FOOTER not in item.fields["text"]  # the next run is clean from its first page
    assert second.crawler.stats.get_value("newsarchive/boilerplate/articles_recleaned") == 0


def test_a_copy_that_differed_only_by_boilerplate_is_folded_into_its_original(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    with Crawl(db) as crawl:
        crawl.page(f"{SITE}/news/2024/05/01/original", template_page(500, footer=TIP_LINE))
        crawl.page(f"{SITE}/wire/original-copy", template_page(500, footer=FOOTER))
        for seed in range(12):
            crawl.page(
                f"{SITE}/news/2024/05/01/story-{seed}", template_page(seed, footer=FOOTER if seed % 2 else TIP_LINE)
            )
        crawl.close()
    run_id = crawl.crawler.stats.get_value("newsarchive/run_id")
    with sqlite3.connect(db) as connection:
        urls = [url for (url,) in connection.execute("SELECT url FROM articles")]
        alias = connection.execute(
            "SELECT reason FROM url_aliases WHERE url = ?", [f"{SITE}/wire/original-copy"]
        ).fetchone()
        outcome = connection.execute(
            "SELECT outcome FROM fetches WHERE url = ?", [f"{SITE}/wire/original-copy"]
        ).fetchone()
        counts = connection.execute(
            "SELECT articles_new, articles_duplicate FROM crawl_runs WHERE id = ?", [run_id]
        ).fetchone()
    assert f"{SITE}/wire/original-copy" not in urls and len(urls) == 13
    assert alias == ("duplicate",) and outcome == ("duplicate",)
    assert counts == (13, 1)


def test_an_original_cleaned_into_a_later_copy_keeps_the_signature_of_its_new_text(tmp_path: Path) -> None:
    """The original is stored before the footer is learned, its wire copy after (clean already): at
    the run's end the original, cleaned, is exactly the copy, which folds into it; the original's
    near-duplicate signature must then be its new text's, not the one it had with the footer."""
    from archive.dedup import text_signature

    db = tmp_path / "archive.db"
    with Crawl(db) as crawl:
        crawl.page(f"{SITE}/news/2024/05/01/original", template_page(500))
        for seed in range(12):
            crawl.page(f"{SITE}/news/2024/05/01/story-{seed}", template_page(seed))
        copy = crawl.page(f"{SITE}/wire/original-copy", template_page(500))
        crawl.close()
    assert FOOTER not in copy.fields["text"]  # learned by then
    stored = rows(
        db, "SELECT a.url, a.text, m.signature FROM articles a JOIN article_minhashes m ON m.article_id = a.id"
    )
    assert f"{SITE}/wire/original-copy" not in [row["url"] for row in stored] and len(stored) == 13
    assert all(row["signature"] == text_signature(row["text"]) for row in stored)


def test_migration_17_gives_an_old_archives_folded_originals_their_texts_signature(tmp_path: Path) -> None:
    """An archive written before the fix: the original kept the signature of its text with the footer."""
    from archive import dedup
    from archive.dedup import text_signature

    db = tmp_path / "archive.db"
    with Crawl(db) as crawl:
        crawl.page(f"{SITE}/news/2024/05/01/original", template_page(500))
        for seed in range(12):
            crawl.page(f"{SITE}/news/2024/05/01/story-{seed}", template_page(seed))
        crawl.page(f"{SITE}/wire/original-copy", template_page(500))
        crawl.close()
    with sqlite3.connect(db) as connection:  # as the earlier version left it
        (article_id, text) = connection.execute(
            "SELECT id, text FROM articles WHERE url = ?", [f"{SITE}/news/2024/05/01/original"]
        ).fetchone()
        stale = text_signature(text + "\n\n" + FOOTER)
        connection.execute("UPDATE article_minhashes SET signature = ? WHERE article_id = ?", [stale, article_id])
        connection.execute("DELETE FROM article_lsh WHERE article_id = ?", [article_id])
        connection.executemany(
            "INSERT INTO article_lsh (bucket, article_id) VALUES (?, ?)",
            [(bucket, article_id) for bucket in dedup.lsh_buckets(stale)],
        )
        connection.execute("DELETE FROM schema_migrations WHERE id = 17")
        others = connection.execute(
            "SELECT article_id, signature FROM article_minhashes WHERE article_id != ?", [article_id]
        ).fetchall()
    with Archive(db):
        pass  # opening the archive applies the migration
    with sqlite3.connect(db) as connection:
        (signature,) = connection.execute(
            "SELECT signature FROM article_minhashes WHERE article_id = ?", [article_id]
        ).fetchone()
        buckets = {
            b for (b,) in connection.execute("SELECT bucket FROM article_lsh WHERE article_id = ?", [article_id])
        }
        assert (
            connection.execute(
                "SELECT article_id, signature FROM article_minhashes WHERE article_id != ?", [article_id]
            ).fetchall()
            == others
        )
    assert signature == text_signature(text) and buckets == set(dedup.lsh_buckets(signature))


def killed_run(db: Path, pages: list[tuple[str, bytes]]) -> int:
    """What a run killed before its end leaves: its articles stored as extracted (not cleaned: the pass
    at its end never ran; too few to have taught anything), the run ``abandoned`` with no stats."""
    with Crawl(db, BOILERPLATE_ENABLED=False) as crawl:
        for url, body in pages:
            crawl.page(url, body)
        crawl.close()
    run_id = crawl.crawler.stats.get_value("newsarchive/run_id")
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE crawl_runs SET status = 'abandoned', stats_json = NULL WHERE id = ?", [run_id])
    return run_id


def test_the_next_run_counts_and_cleans_what_a_killed_run_stored(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    killed = killed_run(
        db,
        [(f"{SITE}/news/2024/05/01/original", template_page(500))]
        + [(f"{SITE}/news/2024/05/01/story-{seed}", template_page(seed)) for seed in range(6)],
    )
    assert sum(FOOTER in text for text in texts(db)) == 7
    with Crawl(db) as crawl:
        # The site's copy of the original under another URL, its footer learned by now: without the
        # killed run's cleaning it would stay a second article, a near duplicate.
        for seed in range(6, 18):
            crawl.page(f"{SITE}/news/2024/05/02/story-{seed}", template_page(seed))
        crawl.page(f"{SITE}/wire/original-copy", template_page(500))
        crawl.close()
    stats = crawl.crawler.stats
    assert stats.get_value("newsarchive/boilerplate/articles_recovered") == 7
    assert not any(FOOTER in text for text in texts(db))
    with sqlite3.connect(db) as connection:
        urls = [url for (url,) in connection.execute("SELECT url FROM articles")]
        alias = connection.execute("SELECT reason FROM url_aliases WHERE url = ?", [f"{SITE}/wire/original-copy"])
        assert alias.fetchone() == ("duplicate",)
        (saved_by,) = connection.execute("SELECT run_id FROM boilerplate_sources").fetchone()
    assert f"{SITE}/news/2024/05/01/original" in urls and len(urls) == 19
    assert saved_by == stats.get_value("newsarchive/run_id") > killed

    # Counted and cleaned once: the run after finds nothing left to recover.
    with Crawl(db) as after:
        after.close()
    assert after.crawler.stats.get_value("newsarchive/boilerplate/articles_recovered") is None


def test_a_copy_of_an_original_from_an_earlier_run_folds_once_the_line_between_them_is_learned(
    tmp_path: Path,
) -> None:
    db = tmp_path / "archive.db"
    with Crawl(db) as first:  # too few pages to learn anything: the original keeps its footer
        first.page(f"{SITE}/news/2024/05/01/original", template_page(500))
        for seed in range(4):
            first.page(f"{SITE}/news/2024/05/01/story-{seed}", template_page(seed))
        first.close()
    with Crawl(db) as second:
        for seed in range(4, 12):
            second.page(f"{SITE}/news/2024/05/02/story-{seed}", template_page(seed))
        copy = second.page(f"{SITE}/wire/original-copy", template_page(500))
        assert FOOTER not in copy.fields["text"]  # learned by now: stored without it, a near copy
        second.close()
    with sqlite3.connect(db) as connection:
        urls = [url for (url,) in connection.execute("SELECT url FROM articles")]
        alias = connection.execute("SELECT reason FROM url_aliases WHERE url = ?", [f"{SITE}/wire/original-copy"])
        assert alias.fetchone() == ("duplicate",)
        original = connection.execute("SELECT text FROM articles WHERE url LIKE '%/original'").fetchone()[0]
    assert f"{SITE}/wire/original-copy" not in urls and len(urls) == 13
    assert FOOTER in original  # an earlier run's text is never rewritten
    assert second.crawler.stats.get_value("newsarchive/articles/duplicate") == 1


def test_a_run_that_stores_no_article_still_cleans_what_a_killed_run_left(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    killed_run(db, [(f"{SITE}/news/2024/05/01/story-{seed}", template_page(seed)) for seed in range(6)])
    with sqlite3.connect(db) as connection:  # what its saves during the run had counted: 12 articles with it
        (source,) = connection.execute("SELECT source FROM crawl_runs").fetchone()
        connection.execute("INSERT INTO boilerplate_sources VALUES (?, 12, '2024-05-01T00:00:00Z', NULL)", [source])
        connection.execute(
            "INSERT INTO boilerplate_lines VALUES (?, ?, 12, ?, '2024-05-01T00:00:00Z')",
            [source, line_fingerprint(FOOTER), FOOTER],
        )
    with Crawl(db) as crawl:  # a recrawl that finds every article known: no page reaches this pipeline
        crawl.close()
    assert crawl.crawler.stats.get_value("newsarchive/boilerplate/articles_recleaned") == 6
    assert not any(FOOTER in text for text in texts(db))


def test_boilerplate_learning_can_be_turned_off(tmp_path: Path) -> None:
    crawl = Crawl(tmp_path / "archive.db", BOILERPLATE_ENABLED=False)
    assert not any(isinstance(p, BoilerplatePipeline) for p in crawl.items.middlewares)


# --- newsarchive boilerplate -----------------------------------------------------------------------------


def test_the_boilerplate_command_lists_what_crawls_remove(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from crawler.cli.main import main

    db = tmp_path / "archive.db"
    model = SiteBoilerplate()
    for seed in range(20):
        rare = "\n\nA line on a few pages only." if seed < 2 else ""
        model.observe(f"{article_text(seed)}\n\n{FOOTER}{rare}")
    with Archive(db) as archive:
        run = archive.start_run("gazette")
        archive.save_source_boilerplate(run, "gazette", model.pages, model.persisted())

    result = CliRunner().invoke(main, ["boilerplate", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["gazette (20 articles counted)", f"  100.0%  removed  {FOOTER}"]

    result = CliRunner().invoke(main, ["boilerplate", "gazette", "--all", "--json", "--db", str(db)])
    rows = json.loads(result.output)
    assert [(row["line"], row["share"], row["removed"]) for row in rows] == [
        (FOOTER, 1.0, True),
        ("A line on a few pages only.", 0.1, False),
    ]
    result = CliRunner().invoke(main, ["boilerplate", "other", "--db", str(db)])
    assert (result.exit_code, result.output) == (0, "No boilerplate learned for other yet.\n")
    assert "Examples:" in CliRunner().invoke(main, ["boilerplate", "--help"]).output


def test_the_counts_are_saved_during_the_run_so_that_a_kill_keeps_them(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    with Crawl(db, BOILERPLATE_SAVE_EVERY=5) as crawl:
        for seed in range(12):
            crawl.page(f"{SITE}/news/2024/05/01/story-{seed}", template_page(seed))
        crawl.pipeline(ArchivePipeline).commit()  # what its committer does every ARCHIVE_COMMIT_INTERVAL
        with sqlite3.connect(db) as connection:
            during = connection.execute("SELECT pages, run_id FROM boilerplate_sources").fetchall()
            lines = connection.execute("SELECT line FROM boilerplate_lines WHERE pages >= 10").fetchall()
        crawl.close()
    assert during == [(10, None)]  # saved at 5 and 10 articles; no run has ended its cleaning pass yet
    assert lines == [(FOOTER,)]
    with sqlite3.connect(db) as connection:
        after = connection.execute("SELECT pages, run_id FROM boilerplate_sources").fetchall()
    assert after == [(12, crawl.crawler.stats.get_value("newsarchive/run_id"))]


def test_the_writer_keeps_a_workers_signature_only_when_it_is_of_the_text_stored(tmp_path: Path) -> None:
    """A distributed worker signs the text as it expects the writer to clean it (the writer's learned
    lines, published through Redis): where the writer's cleaning gives that very text the signature
    is kept, otherwise (the worker knew fewer lines) the archive computes the stored text's."""
    from scrapy.settings import Settings

    from archive.dedup import content_hash, text_signature
    from crawler.extraction.boilerplate import signature_once_cleaned
    from crawler.items import Fetch, PageItem
    from crawler.run.distributed_process import WRITER, role_settings

    db = tmp_path / "archive.db"
    with Crawl(db) as first:
        for seed in range(14):
            first.page(f"{SITE}/news/2024/05/01/story-{seed}", template_page(seed))
        first.close()
    learned = [line_fingerprint(FOOTER)]

    def item(seed: int, text: str, source: str, known: list[str]) -> PageItem:
        fetch = Fetch(url=f"{SITE}/news/2024/05/03/story-{seed}", status=200, bytes=len(text))
        fields = {"title": f"Story {seed}", "text": text, "language": "en"}
        page = PageItem(source, fetch, b"<html></html>", fields=fields, is_article=True, reason="article")
        page.signature, page.signed_text_hash = signature_once_cleaned(text, known)
        return page

    writer_pipelines = role_settings(WRITER, Settings())["ITEM_PIPELINES"]  # boilerplate and archive, as a writer
    with Crawl(db, ITEM_PIPELINES=writer_pipelines) as second:
        source = second.spider.source.name
        knew = second.process(item(90, article_text(90) + "\n\n" + FOOTER, source, learned))
        stale = second.process(item(91, article_text(91) + "\n\n" + FOOTER, source, []))
        untouched = second.process(item(92, article_text(92), source, learned))
        second.close()
    assert FOOTER not in knew.fields["text"] and knew.signature == text_signature(article_text(90))
    assert knew.signed_text_hash == content_hash(knew.fields["text"])
    assert FOOTER not in stale.fields["text"] and stale.signature is None  # signed with the footer in it
    assert untouched.signature == text_signature(article_text(92))
    assert second.crawler.stats.get_value("newsarchive/boilerplate/signatures_dropped") == 1
    stored = rows(db, "SELECT a.text, m.signature FROM articles a JOIN article_minhashes m ON m.article_id = a.id")
    assert all(row["signature"] == text_signature(row["text"]) for row in stored) and len(stored) == 17


def test_the_learned_fingerprints_are_the_lines_the_model_removes() -> None:
    model = SiteBoilerplate(min_pages=5, min_share=0.5)
    texts = [article_text(seed) + "\n\n" + FOOTER for seed in range(4)]
    for text in texts:
        model.observe(text)
    assert model.learned_fingerprints() == []  # fewer than min_pages articles: nothing is removed yet
    model.observe(article_text(4) + "\n\n" + FOOTER)
    assert model.learned_fingerprints() == [line_fingerprint(FOOTER)]
    assert model.clean(texts[0]).text == article_text(0)
