"""Versions that mean something: the change classifier and normaliser (archive/changes.py), the
version rule through the real `Archive` write path, migration 8 on an archive as version 7 left it,
`ArchiveReader.article`/`versions`, and `newsarchive history` through click's CliRunner.

Real SQLite files in tmp_path; no mocks.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from archive import Archive, ArchiveError, ArchiveReader
from archive.changes import (
    CORRECTION_MARKERS,
    TRACKED_FIELDS,
    classify_change,
    correction_notes,
    normalise_value,
    without_tracking,
)
from archive.migrations import MIGRATIONS, apply_migrations
from archive.models import ChangeKind
from crawler.cli.main import main

PARAGRAPHS = [
    "The city council met on Monday evening to vote on the harbour budget for next year.",
    "After a debate of four hours the members approved the plan by twenty votes to eleven.",
    "The mayor said the new ferry terminal would open in the spring if the weather allowed.",
    "Residents of Riverside had asked for more money for the bridge repairs and the schools.",
]
TEXT = "\n\n".join(PARAGRAPHS)
URL = "https://news.example/2024/05/12/council-budget/"


def article(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "url": URL,
        "source": "example",
        "title": "Council approves harbour budget",
        "authors": ["Anna Becker", "Thomas Hughes"],
        "published_at": "2024-05-12T09:30:00+02:00",
        "modified_at": "2024-05-12T10:00:00+02:00",
        "language": "en",
        "description": "The harbour budget passed after four hours.",
        "site_name": "Example News",
        "categories": ["politics"],
        "tags": ["budget"],
        "image": "https://news.example/img/a.jpg",
        "text": TEXT,
        "fetch_mode": "plain",
    }
    values.update(overrides)
    return values


def columns(**overrides: Any) -> dict[str, Any]:
    """Column values as the archive stores them (authors as JSON text)."""
    from archive.records import article_columns

    return article_columns(article(**overrides))


# --- the normaliser and the classifier ------------------------------------------------------------


def test_the_vocabulary_is_the_documented_one() -> None:
    assert [str(kind) for kind in ChangeKind] == [
        "headline",
        "byline",
        "body",
        "dates",
        "description",
        "correction",
        "reappeared",
        "reextracted",
    ]
    schema = (Path(__file__).resolve().parents[1] / "docs" / "schema.md").read_text(encoding="utf-8")
    for kind in ChangeKind:
        assert f"`{kind}`" in schema


def test_whitespace_markup_and_tracking_parameters_are_no_change() -> None:
    assert normalise_value("  Council&nbsp;approves <b>harbour</b>\u200b budget\n") == "Council approves harbour budget"
    assert without_tracking("https://x.example/a?id=3&utm_source=nl&fbclid=abc") == "https://x.example/a?id=3"
    assert without_tracking("https://x.example/a?utm_medium=email") == "https://x.example/a"
    old = columns(text=TEXT + "\n\nMore at https://news.example/budget?utm_source=rss&page=2")
    new = columns(
        title="Council  approves <em>harbour</em> budget",
        authors=[" Anna  Becker", "Thomas Hughes", "Anna Becker"],
        published_at="2024-05-12T07:30:00Z",  # the same moment in UTC
        description="The harbour budget passed after four&nbsp;hours.",
        text="\n".join(p.replace(" ", "\u00a0 ") for p in PARAGRAPHS) + "\nMore at https://news.example/budget?page=2",
        image="https://news.example/img/b.jpg",  # not a tracked field
        tags=["budget", "harbour"],
    )
    change = classify_change(old, new)
    assert not change and change.kinds == () and change.diff == {}


def test_a_blank_field_is_unknown_not_changed() -> None:
    assert not classify_change(columns(description=None, published_at=None), columns())
    assert not classify_change(columns(), columns(description="", authors=[], modified_at=None))


def test_a_modified_date_that_appears_is_a_change_of_dates() -> None:
    change = classify_change(columns(modified_at=None), columns())
    assert change.kinds == (ChangeKind.DATES,)
    assert change.diff == {"modified_at": {"old": None, "new": columns()["modified_at"]}}


@pytest.mark.parametrize(
    ("overrides", "kinds", "diffed"),
    [
        ({"title": "Council rejects harbour budget"}, ["headline"], "title"),
        ({"authors": ["Anna Becker"]}, ["byline"], "authors"),
        ({"published_at": "2024-05-13T09:30:00+02:00"}, ["dates"], "published_at"),
        ({"modified_at": "2024-05-14T08:00:00+02:00"}, ["dates"], "modified_at"),
        ({"description": "Passed after a long night."}, ["description"], "description"),
        ({"text": TEXT.replace("twenty votes", "twenty-one votes")}, ["body"], "text"),
    ],
)
def test_each_tracked_field_makes_its_kind(overrides: dict[str, Any], kinds: list[str], diffed: str) -> None:
    change = classify_change(columns(), columns(**overrides))
    assert [str(kind) for kind in change.kinds] == kinds
    assert list(change.diff) == [diffed]


def test_the_stored_diff_is_old_to_new_and_a_unified_text_diff() -> None:
    new_text = TEXT.replace("twenty votes to eleven", "twenty-one votes to ten")
    change = classify_change(
        columns(),
        columns(title="Council rejects it", authors=["Anna Becker"], text=new_text),
        old_label="version 1",
        new_label="version 2",
    )
    assert change.kinds == (ChangeKind.HEADLINE, ChangeKind.BYLINE, ChangeKind.BODY)
    assert change.diff["title"] == {"old": "Council approves harbour budget", "new": "Council rejects it"}
    assert change.diff["authors"] == {"old": ["Anna Becker", "Thomas Hughes"], "new": ["Anna Becker"]}
    assert change.diff["text"].splitlines() == [
        "--- version 1",
        "+++ version 2",
        "@@ -1,3 +1,3 @@",
        " " + PARAGRAPHS[0],
        "-" + PARAGRAPHS[1],
        "+" + PARAGRAPHS[1].replace("twenty votes to eleven", "twenty-one votes to ten"),
        " " + PARAGRAPHS[2],
    ]
    assert json.loads(change.kinds_json()) == ["headline", "byline", "body"]
    assert json.loads(change.diff_json()) == change.diff


NOTES = [
    "Correction: An earlier version of this article gave the wrong vote count.",
    "CORRECTION (May 13): The vote was 21 to 10.",
    "Update, 13 May 2024, 14:00: The mayor has since resigned.",
    "Updated: the council published the minutes.",
    "[Update] The ferry terminal opening was postponed.",
    "Clarification: The bridge repairs are funded separately.",
    "Editor's note: This story has been corrected.",
    "Editor’s Note — names were changed at the request of the family.",
    "This article was amended on 13 May 2024 to correct the vote count.",
    "An earlier version of this story misstated the mayor's name.",
    "Korrektur: In einer früheren Version hieß es, der Rat habe abgelehnt.",
    "Aktualisiert am 13. Mai 2024, 14:00 Uhr: Der Bürgermeister ist zurückgetreten.",
    "Anmerkung der Redaktion: Der Name wurde geändert.",
    "In einer früheren Version dieses Artikels stand ein falsches Datum.",
    "Rectificatif : le vote était de 21 voix contre 10.",
    "Mise à jour : le maire a démissionné.",
    "Note de la rédaction : les noms ont été modifiés.",
    "Corrección: una versión anterior indicaba otra cifra.",
    "Actualización: el alcalde dimitió.",
    "Nota de la redacción: se corrigió el nombre.",
    "Correzione: il voto era 21 a 10.",
    "Aggiornamento: il sindaco si è dimesso.",
    "Nota della redazione: i nomi sono stati cambiati.",
    "Correção: a votação foi de 21 a 10.",
    "Atualização: o prefeito renunciou.",
    "Nota do editor: o nome foi corrigido.",
    "Correctie: de stemming was 21 tegen 10.",
    "Update: de burgemeester is afgetreden.",
    "Noot van de redactie: de namen zijn gewijzigd.",
]
NOT_NOTES = [
    "Updated figures show the budget grew by a tenth.",
    "Corrections officers at the prison went on strike.",
    "The update of the timetable: buses run every ten minutes.",
    "Aktualisierte Zahlen zeigen einen Anstieg.",
    "Mise en scène du nouveau spectacle au théâtre.",
]


@pytest.mark.parametrize("note", NOTES)
def test_a_correction_note_in_any_common_language_adds_correction_and_body(note: str) -> None:
    assert correction_notes(note) == [note]
    change = classify_change(columns(), columns(text=TEXT + "\n\n" + note))
    assert change.kinds == (ChangeKind.BODY, ChangeKind.CORRECTION)
    assert change.diff["correction"] == [note]


@pytest.mark.parametrize("paragraph", NOT_NOTES)
def test_ordinary_paragraphs_are_not_notes(paragraph: str) -> None:
    assert correction_notes(paragraph) == []
    assert classify_change(columns(), columns(text=TEXT + "\n\n" + paragraph)).kinds == (ChangeKind.BODY,)


def test_a_note_already_there_is_not_added_again() -> None:
    with_note = TEXT + "\n\n" + NOTES[0]
    change = classify_change(columns(text=with_note), columns(text=with_note.replace("Monday", "Tuesday")))
    assert change.kinds == (ChangeKind.BODY,)
    assert {"en", "de", "fr", "es", "it", "pt", "nl"} <= {key.split("-")[0] for key in CORRECTION_MARKERS}


# Words from a plain alphabet: the property is about whitespace and markup around real words.
WORDS = st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyzäéß0123456789.,;!?'", min_size=1, max_size=12), min_size=1)
WHITESPACE = st.text(alphabet=" \t\n\r\u00a0\u2009\u3000", min_size=1, max_size=4)
MARKUP = st.sampled_from(["", "<b>", "</b>", "<em>", "</em>", "<span class='x'>", "</span>", "<!-- ad -->", "\u200b"])


@settings(max_examples=150, deadline=None)
@given(words=WORDS, data=st.data())
def test_whitespace_and_markup_changes_never_make_a_version(words: list[str], data: st.DataObject) -> None:
    plain = " ".join(words)
    decorated = data.draw(st.sampled_from(["", " ", "\n"]))
    for word in words:
        decorated += data.draw(MARKUP) + word + data.draw(MARKUP) + data.draw(WHITESPACE)
    old = columns(title=plain, description=plain, authors=[plain], text=plain)
    new = columns(title=decorated, description=decorated, authors=[decorated], text=decorated)
    assert not classify_change(old, new)


@settings(max_examples=150, deadline=None)
@given(field=st.sampled_from(sorted(TRACKED_FIELDS)), extra=WORDS)
def test_any_change_to_a_tracked_field_gives_exactly_its_kind(field: str, extra: list[str]) -> None:
    base = columns()
    word = " ".join(extra)
    changed: dict[str, Any] = {
        "title": {"title": f"Council approves x{word}"},
        "authors": {"authors": ["Anna Becker", f"Z {word}"]},
        "published_at": {"published_at": "2023-01-02T03:04:05Z"},
        "modified_at": {"modified_at": "2023-01-02T03:04:05Z"},
        "description": {"description": f"The budget: {word}"},
        "text": {"text": TEXT + "\n\nAlso " + word},
    }[field]
    change = classify_change(base, columns(**changed))
    assert change.kinds == (TRACKED_FIELDS[field],)


# --- the version rule through the real write path -------------------------------------------------


def save(arc: Archive, run_id: int, **overrides: Any) -> str:
    return str(arc.save_article(run_id, article(**overrides), {"url": URL, "status": 200}).outcome)


def version_rows(db: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute("SELECT * FROM article_versions ORDER BY version")]


def test_body_correction_and_whitespace_through_the_archive(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    edited = TEXT.replace("twenty votes", "twenty-one votes")
    corrected = edited + "\n\nCorrection: An earlier version of this article gave the wrong vote count."
    with Archive(db) as arc:
        run = arc.start_run("example")
        assert save(arc, run) == "new"
        # Only whitespace (and an untracked field): no version, but the new image is stored.
        assert save(arc, run, text=TEXT.replace(" ", "  ").replace("\n\n", "\n"), image="https://i.example/2.jpg") == (
            "unchanged"
        )
        assert version_rows(db) == [] and arc.find_article(URL)["image"] == "https://i.example/2.jpg"
        assert arc.find_article(URL)["text"] == TEXT  # the version's text stays as first stored
        # The body changes: one version with `body`.
        assert save(arc, run, text=edited) == "updated"
        # A correction note is added: `body` and `correction`.
        assert save(arc, run, text=corrected) == "updated"
        # The same again, re-wrapped: nothing.
        assert save(arc, run, text=corrected.replace("\n\n", "\n \n")) == "unchanged"
        arc.finish_run(run, "succeeded")
        current = arc.find_article(URL)
    rows = version_rows(db)
    assert [(row["version"], json.loads(row["change_kinds"])) for row in rows] == [
        (1, ["body"]),
        (2, ["body", "correction"]),
    ]
    assert rows[0]["text"] == TEXT and rows[1]["text"] == edited and current["text"] == corrected
    assert current["version"] == 3
    diff = json.loads(rows[1]["diff"])
    assert diff["correction"] == ["Correction: An earlier version of this article gave the wrong vote count."]
    assert diff["text"].startswith("--- version 2\n+++ version 3\n")


def test_a_headline_alone_is_a_version_and_a_late_description_fills_in(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    with Archive(db) as arc:
        run = arc.start_run("example")
        assert save(arc, run, description=None) == "new"
        assert save(arc, run) == "unchanged"  # unknown before: filled in, no version
        assert arc.find_article(URL)["description"] == "The harbour budget passed after four hours."
        assert save(arc, run, title="Council rejects harbour budget") == "updated"
        assert save(arc, run, title="Council rejects harbour budget", modified_at=None) == "unchanged"
    (row,) = version_rows(db)
    assert json.loads(row["change_kinds"]) == ["headline"]
    assert json.loads(row["diff"]) == {
        "title": {"old": "Council approves harbour budget", "new": "Council rejects harbour budget"}
    }


# --- migration 8 on an archive as version 7 left it -------------------------------------------------


def test_migration_8_computes_change_kinds_for_existing_versions(tmp_path: Path) -> None:
    from sqlite_utils import Database

    db_path = tmp_path / "old.db"
    db = Database(sqlite3.connect(str(db_path), isolation_level=None))
    apply_migrations(db, tuple(m for m in MIGRATIONS if m.number <= 7))
    assert "change_kinds" not in db["article_versions"].columns_dict
    now = "2024-05-12T08:00:00.000Z"
    db.execute("INSERT INTO crawl_runs (id, source, started_at) VALUES (1, 'example', ?)", [now])
    db.execute(
        "INSERT INTO articles (id, url, title, text, content_hash, version, first_seen_at, last_seen_at, changed_at)"
        " VALUES (1, ?, 'New headline', ?, 'h3', 3, ?, ?, ?)",
        [URL, TEXT + "\n\nUpdate: the mayor resigned.", now, now, now],
    )
    for version, title, text in ((1, "Old headline", TEXT.replace("Monday", "Sunday")), (2, "Old headline", TEXT)):
        db.execute(
            "INSERT INTO article_versions (article_id, version, title, text, valid_to) VALUES (1, ?, ?, ?, ?)",
            [version, title, text, now],
        )
    db.close()
    with ArchiveReader(db_path) as reader:  # read as it is: the new columns read as None
        assert [entry["change_kinds"] for entry in reader.versions(1)] == [None, None, None]
    Archive(db_path).close()  # applies migration 8
    rows = version_rows(db_path)
    assert [json.loads(row["change_kinds"]) for row in rows] == [["body"], ["headline", "body", "correction"]]
    assert json.loads(rows[1]["diff"])["title"] == {"old": "Old headline", "new": "New headline"}


# --- the reader -----------------------------------------------------------------------------------


@pytest.fixture
def edited_archive(tmp_path: Path) -> Path:
    db = tmp_path / "archive.db"
    with Archive(db) as arc:
        first = arc.start_run("example")
        arc.save_article(
            first, article(), {"url": URL + "?utm_source=rss", "status": 200}, aliases=[URL + "?utm_source=rss"]
        )
        arc.finish_run(first, "succeeded")
        second = arc.start_run("example")
        save(arc, second, title="Council rejects harbour budget")
        arc.finish_run(second, "succeeded")
        third = arc.start_run("example")
        save(arc, third, title="Council rejects harbour budget", text=TEXT + "\n\nClarification: the vote was secret.")
        arc.finish_run(third, "succeeded")
    return db


def test_the_reader_finds_an_article_by_id_url_or_alias_and_lists_its_versions(edited_archive: Path) -> None:
    with ArchiveReader(edited_archive) as reader:
        by_id = reader.article(1)
        assert reader.article("1")["id"] == reader.article(URL)["id"] == reader.article(URL + "?utm_source=rss")["id"]
        with pytest.raises(ArchiveError, match=r"No article under URL https://nowhere\.example/") as raised:
            reader.article("https://nowhere.example/")
        assert raised.value.fix
        with pytest.raises(ArchiveError, match="No article with id 99"):
            reader.article(99)
        versions = reader.versions(by_id["id"])
    assert [(v["version"], v["current"], v["change_kinds"], v["found_by_run_id"]) for v in versions] == [
        (1, False, None, 1),
        (2, False, ["headline"], 2),
        (3, True, ["body", "correction"], 3),
    ]
    assert versions[0]["valid_to"] == versions[1]["valid_from"] and versions[2]["valid_to"] is None
    assert versions[2]["diff"]["correction"] == ["Clarification: the vote was secret."]


# --- newsarchive history --------------------------------------------------------------------------


def history(*args: str) -> Any:
    return CliRunner().invoke(main, ["history", *args])


def test_history_help_shows_an_example() -> None:
    result = history("--help")
    assert result.exit_code == 0
    assert "Example" in result.output and "newsarchive history" in result.output and "--format" in result.output


def test_history_prints_every_version_with_kinds_and_diffs(edited_archive: Path) -> None:
    result = history(URL, "--db", str(edited_archive))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"Article 1: {URL}  (source example)"
    assert "3 versions; current: version 3" in lines[1]
    headers = [line for line in lines if line.startswith("version ")]
    assert [header.split("  ")[0] for header in headers] == ["version 1", "version 2", "version 3 (current)"]
    assert headers[1].endswith("changes: headline") and headers[2].endswith("changes: body, correction")
    assert '  headline: "Council approves harbour budget" -> "Council rejects harbour budget"' in lines
    assert "  correction note added: Clarification: the vote was secret." in lines
    assert "  +Clarification: the vote was secret." in lines


def test_history_json_is_a_document_for_machines(edited_archive: Path) -> None:
    result = history("1", "--db", str(edited_archive), "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["article"]["url"] == URL and document["article"]["version"] == 3
    assert [entry["change_kinds"] for entry in document["versions"]] == [None, ["headline"], ["body", "correction"]]
    assert document["versions"][0]["authors"] == ["Anna Becker", "Thomas Hughes"]
    assert document["versions"][-1]["text"].endswith("Clarification: the vote was secret.")


def test_history_errors_are_one_line_with_the_fix(edited_archive: Path, tmp_path: Path) -> None:
    missing = history("https://nowhere.example/", "--db", str(edited_archive))
    assert missing.exit_code == 1
    (line,) = missing.output.strip().splitlines()
    assert line.startswith("error: No article under URL https://nowhere.example/") and "Fix:" in line
    assert history("99", "--db", str(edited_archive)).exit_code == 1
    no_archive = history("1", "--db", str(tmp_path / "absent.db"))
    assert no_archive.exit_code == 2 and "No archive at" in no_archive.output
    assert history("1", "--db", str(edited_archive), "--format", "xml").exit_code == 2
    assert history("--db", str(edited_archive)).exit_code == 2  # no URL_OR_ID


def test_history_reads_the_archive_from_the_sources_file(edited_archive: Path, tmp_path: Path) -> None:
    config = tmp_path / "sources.toml"
    config.write_text(
        f'[archive]\ndb = "{edited_archive.name}"\n\n[[sources]]\nname = "example"\nstart_urls = ["https://news.example/"]\n',
        encoding="utf-8",
    )
    result = history(URL, "--config", str(config))
    assert result.exit_code == 0, result.output
    assert "version 3 (current)" in result.output
