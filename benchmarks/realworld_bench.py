"""Real article pages (issue 9, "Measure on real pages"): the whole pipeline vs. trafilatura alone, in one run.

Reads the real-world fixture (``pages/<id>.html.gz`` and ``truth.jsonl``, see its README: 137 article
pages from about 90 publishers, with the fields a human-checked per-publisher parser extracted),
serves the pages on 127.0.0.1 (port 0) at their real URL paths (without the query; prefixed with
the page id where two would collide), with a ``sitemap.xml`` listing them and a ``robots.txt``, and
crawls them with the real CLI (``newsarchive crawl --config FILE``: one source with that sitemap,
``follow_links = false``, no delay, concurrency 8, ``render_js = "never"``), so the
article/non-article decision counts. Meanwhile ``trafilatura.bare_extraction`` runs on the same
pages in a process pool. Then each page is scored against its truth, from the archive's
``articles`` row (found through the ``fetches`` row of the served URL, else ``articles.url`` or
``url_aliases``) and from trafilatura's result:

- archived: a real article stored (trafilatura: any text extracted);
- title exact: equal after Unicode NFC, dropping invisible characters (soft hyphen, zero-width) and
  collapsing whitespace;
- authors F1: F1 of the sets of names (NFKC, case-folded, punctuation dropped);
- date same-day: the published date's calendar day, in the truth's UTC offset (UTC when it has none;
  a value without offset is taken as written);
- language: primary subtag (``nb``/``nn`` count as ``no``); trafilatura alone reports none (only with
  ``target_language``), so its column shows n/a;
- body F1: F1 of the sets of 4-token shingles (word tokens, case-folded; each CJK/kana character a
  token) of the text vs. the expected body (summary + section headlines + paragraphs; captions not).

A field whose truth is null or empty is not scored. The "newsarchive" column is end to end: a page
that was not archived scores 0 on every field it has truth for; "archived only" scores only the
archived pages. Figures are printed overall and per language, with the issue's targets and PASS or
FAIL (end to end), then why each page that was not archived was rejected (``fetches.outcome``,
``reason_kind``, ``reason``). It is a development set: fix patterns, not pages.

Usage (from the repo root)::

    .venv/bin/python benchmarks/realworld_bench.py [--fixtures DIR] [--check] [--show-failures N]
        [--keep DIR] [--timeout 600] [-s NAME=VALUE ...]

``--fixtures`` defaults to ``../shared/fixtures/realworld`` beside the repo. ``--check`` exits 1
when a target fails. ``--show-failures N`` prints the N worst pages of each field (id, publisher,
expected vs. got). ``--keep DIR`` keeps the archive, the sources file and the crawl output.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from xml.sax.saxutils import escape

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FIXTURES = REPO_ROOT.parent / "shared" / "fixtures" / "realworld"
SOURCE = "realworld"
CONCURRENCY = 8
SHINGLE = 4
FIELDS = ("archived", "title", "authors", "date", "language", "body")
LABELS = {
    "archived": "archived",
    "title": "title exact",
    "authors": "authors F1",
    "date": "date same-day",
    "language": "language",
    "body": "body F1",
}
AS_PERCENT = {"archived", "title", "date", "language"}
TARGETS = {"archived": 0.99, "title": 0.90, "authors": 0.92, "date": 0.995, "language": 0.98, "body": 0.96}
LANGUAGE_ALIASES = {"nb": "no", "nn": "no"}
CJK = r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"
TOKEN = re.compile(rf"{CJK}|[^\W_]+")
INVISIBLE = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff]")


# --- the fixture ----------------------------------------------------------------------------------


@dataclass
class Page:
    id: str
    truth: dict[str, Any]
    html: bytes
    path: str  # where the local server serves it

    @property
    def publisher(self) -> str:
        return self.truth.get("publisher") or "?"

    @property
    def language(self) -> str:
        return primary_language(self.truth.get("language")) or "?"


def load_pages(folder: Path) -> list[Page]:
    truth_file = folder / "truth.jsonl"
    if not truth_file.is_file() or not (folder / "pages").is_dir():
        raise SystemExit(
            f"realworld fixture not found at {folder} (expected truth.jsonl and pages/); pass --fixtures DIR"
        )
    pages: list[Page] = []
    used: set[str] = {"/", "/robots.txt", "/sitemap.xml"}
    for line in truth_file.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        truth = json.loads(line)
        html = gzip.decompress((folder / "pages" / f"{truth['id']}.html.gz").read_bytes())
        path = urlsplit(truth["url"]).path or "/"
        if unquote(path) in used:
            path = f"/{truth['id']}{path}"
        used.add(unquote(path))
        pages.append(Page(truth["id"], truth, html, path))
    return pages


def expected_body(truth: dict[str, Any]) -> str:
    parts = list(truth.get("summary") or [])
    for section in truth.get("sections") or []:
        parts += section.get("headline") or []
        parts += section.get("paragraphs") or []
    return "\n".join(part for part in parts if part)


# --- the local site -------------------------------------------------------------------------------


def site_app(pages: Sequence[Page]) -> Callable[[Any], Any]:
    from crawler.demo.server import Reply

    by_path = {unquote(page.path): page.html for page in pages}

    def app(request: Any) -> Any:
        path = unquote(request.path.split("?", 1)[0])
        base = request.base_url
        if path == "/robots.txt":
            body = f"User-agent: *\nAllow: /\n\nSitemap: {base}/sitemap.xml\n"
            return Reply(body=body.encode(), headers={"content-type": "text/plain; charset=utf-8"})
        if path == "/sitemap.xml":
            urls = "".join(f"<url><loc>{escape(base + page.path)}</loc></url>\n" for page in pages)
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{urls}</urlset>\n'
            )
            return Reply(body=body.encode(), headers={"content-type": "application/xml; charset=utf-8"})
        if path in by_path:
            return Reply(body=by_path[path])
        return Reply(status=404, body=b"<html><body><p>Not found</p></body></html>")

    return app


# --- the crawl ------------------------------------------------------------------------------------


def newsarchive_command() -> list[str]:
    """The installed ``newsarchive`` script beside this interpreter, else the same CLI as a module."""
    script = Path(sys.executable).with_name("newsarchive")
    return [str(script)] if script.exists() else [sys.executable, "-m", "crawler.cli.main"]


def crawl(folder: Path, base_url: str, pages: int, settings: Sequence[str], timeout: float) -> tuple[int, float]:
    """Crawl the local site into ``folder/realworld.db``: (exit code, wall seconds)."""
    config = folder / "sources.toml"
    config.write_text(
        '[archive]\ndb = "realworld.db"\n\n'
        f'[[sources]]\nname = "{SOURCE}"\nsitemaps = ["{base_url}/sitemap.xml"]\nfollow_links = false\n'
        f'download_delay = 0\nconcurrency = {CONCURRENCY}\nrender_js = "never"\nmax_pages = {pages * 4 + 100}\n',
        encoding="utf-8",
    )
    command = [*newsarchive_command(), "crawl", "--config", str(config), "--no-progress"]
    command += ["-s", "AUTOTHROTTLE_ENABLED=False"]
    for pair in settings:
        command += ["-s", pair]
    started = time.monotonic()
    with (folder / "crawl.out").open("wb") as output:
        try:
            code = subprocess.run(
                command, cwd=folder, stdout=output, stderr=subprocess.STDOUT, timeout=timeout, check=False
            ).returncode
        except subprocess.TimeoutExpired:
            print(f"crawl still running after {timeout:g} s (--timeout): killed", file=sys.stderr)
            code = -1
    wall = time.monotonic() - started
    if code != 0:
        tail = (folder / "crawl.out").read_text(errors="replace").splitlines()[-8:]
        print(f"newsarchive crawl exited {code}:", *tail, sep="\n    ", file=sys.stderr)
    return code, wall


@dataclass
class Stored:
    """What the archive holds for one served page."""

    article: dict[str, Any] | None = None
    outcome: str | None = None
    reason_kind: str | None = None
    reason: str | None = None


@contextmanager
def read_only(db: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=10)) as connection:
        connection.row_factory = sqlite3.Row
        yield connection


def stored_pages(db: Path, base_url: str, pages: Sequence[Page]) -> dict[str, Stored]:
    """Each page's archived article (None: not archived) and its last fetch's outcome and reason."""
    found: dict[str, Stored] = {page.id: Stored() for page in pages}
    if not db.exists():
        return found
    with read_only(db) as connection:
        articles = {row["id"]: dict(row) for row in connection.execute("SELECT * FROM articles")}
        by_url = {article["url"]: article for article in articles.values()}
        aliases = {
            row["url"]: row["article_id"] for row in connection.execute("SELECT url, article_id FROM url_aliases")
        }
        columns = {row[1] for row in connection.execute("PRAGMA table_info(fetches)")}
        kind = "reason_kind" if "reason_kind" in columns else "NULL AS reason_kind"
        fetches: dict[str, sqlite3.Row] = {}
        for row in connection.execute(f"SELECT url, final_url, outcome, reason, {kind}, article_id FROM fetches"):
            for url in {row["url"], row["final_url"]} - {None}:
                fetches[unquote(url)] = row  # the last fetch of a URL wins
    for page in pages:
        url = base_url + page.path
        stored = found[page.id]
        fetch = fetches.get(unquote(url))
        if fetch is not None:
            stored.outcome, stored.reason, stored.reason_kind = fetch["outcome"], fetch["reason"], fetch["reason_kind"]
        article_id = fetch["article_id"] if fetch is not None else None
        if article_id is None:
            article_id = aliases.get(url)
        stored.article = articles.get(article_id) if article_id is not None else by_url.get(url)
    return found


# --- trafilatura alone ----------------------------------------------------------------------------


def trafilatura_fields(html: bytes, url: str) -> dict[str, Any] | None:
    """trafilatura's title, authors, date, language and text for one page (None: nothing extracted)."""
    import trafilatura

    result = trafilatura.bare_extraction(html.decode("utf-8", errors="replace"), url=url, with_metadata=True)
    if result is None:
        return None
    values = result.as_dict() if hasattr(result, "as_dict") else dict(result)
    author = values.get("author") or ""
    return {
        "title": values.get("title"),
        "authors": json.dumps([name.strip() for name in author.split(";") if name.strip()]),
        "published_at": values.get("date"),
        "language": values.get("language"),
        "text": values.get("text"),
    }


# --- scoring --------------------------------------------------------------------------------------


def normal_space(text: str | None) -> str:
    """NFC, invisible characters (soft hyphen, zero-width space and joiners, BOM) dropped, whitespace collapsed."""
    return " ".join(INVISIBLE.sub("", unicodedata.normalize("NFC", text or "")).split())


def normal_name(name: str) -> str:
    name = unicodedata.normalize("NFKC", name).casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", name).split())


def primary_language(tag: str | None) -> str | None:
    if not tag:
        return None
    primary = re.split(r"[-_]", tag.strip().lower(), maxsplit=1)[0]
    return LANGUAGE_ALIASES.get(primary, primary) or None


def parse_when(value: str | None) -> datetime | date | None:
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def day_in(value: datetime | date, zone: tzinfo) -> date:
    if isinstance(value, datetime):
        return value.astimezone(zone).date() if value.tzinfo else value.date()
    return value


def authors_of(value: str | list[str] | None) -> list[str]:
    if isinstance(value, list):
        return value
    if not value:
        return []
    try:
        parsed = json.loads(value)
    except ValueError:
        return [value]
    return [str(name) for name in parsed] if isinstance(parsed, list) else [str(parsed)]


def shingles(text: str) -> set[tuple[str, ...]]:
    tokens = TOKEN.findall(text.casefold())
    if len(tokens) < SHINGLE:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i : i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1)}


def f1(expected: set[Any], got: set[Any]) -> tuple[float, float, float]:
    """(F1, precision, recall)."""
    if not expected or not got:
        return 0.0, 0.0, 0.0
    common = len(expected & got)
    precision, recall = common / len(got), common / len(expected)
    return (2 * precision * recall / (precision + recall) if common else 0.0), precision, recall


@dataclass
class Score:
    """One field of one page: its score in 0..1 and what to show when it is wrong."""

    value: float
    expected: str = ""
    got: str = ""


def score_page(page: Page, got: dict[str, Any] | None, unreported: Sequence[str] = ()) -> dict[str, Score]:
    """Scores of the fields with truth; ``got`` is an archive row or trafilatura's fields (None: nothing).

    ``unreported``: fields the system does not report at all (trafilatura's language), left unscored.
    """
    truth = page.truth
    got = got or {}
    scores: dict[str, Score] = {"archived": Score(1.0 if got.get("text") else 0.0)}
    if truth.get("title"):
        want, have = normal_space(truth["title"]), normal_space(got.get("title"))
        scores["title"] = Score(float(want == have), want, have)
    if truth.get("authors"):
        want_names, have_names = authors_of(truth["authors"]), authors_of(got.get("authors"))
        score, _, _ = f1({normal_name(n) for n in want_names}, {normal_name(n) for n in have_names} - {""})
        scores["authors"] = Score(score, "; ".join(want_names), "; ".join(have_names))
    when = parse_when(truth.get("published_at"))
    if when is not None:
        zone = when.tzinfo if isinstance(when, datetime) and when.tzinfo else UTC
        have_when = parse_when(got.get("published_at"))
        same = have_when is not None and day_in(have_when, zone) == day_in(when, zone)
        scores["date"] = Score(float(same), f"{truth['published_at']}", f"{got.get('published_at')}")
    if truth.get("language") and "language" not in unreported:
        want, have = primary_language(truth["language"]), primary_language(got.get("language"))
        scores["language"] = Score(float(want == have), str(truth["language"]), str(got.get("language")))
    body = expected_body(truth)
    if body:
        text = got.get("text") or ""
        score, precision, recall = f1(shingles(body), shingles(text))
        detail = f"F1 {score:.2f} P {precision:.2f} R {recall:.2f}, {len(body):,} vs {len(text):,} chars"
        scores["body"] = Score(score, detail + " | " + body, text)
    return scores


@dataclass
class Column:
    """One system's scores on every page: ``scores[page id][field]``."""

    name: str
    scores: dict[str, dict[str, Score]] = field(default_factory=dict)

    def mean(self, name: str, ids: Iterable[str]) -> tuple[float | None, int]:
        values = [self.scores[i][name].value for i in ids if name in self.scores[i]]
        return (sum(values) / len(values) if values else None), len(values)


def shown(name: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1%}" if name in AS_PERCENT else f"{value:.3f}"


def clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


# --- reports --------------------------------------------------------------------------------------


def print_overall(columns: Sequence[Column], ids: Sequence[str]) -> None:
    print(f"\n{'field':<16}" + "".join(f"{column.name:>18}" for column in columns) + f"{'pages':>8}")
    for name in FIELDS:
        cells = [column.mean(name, ids) for column in columns]
        print(f"{LABELS[name]:<16}" + "".join(f"{shown(name, v):>18}" for v, _ in cells) + f"{cells[0][1]:>8}")


def print_languages(pages: Sequence[Page], ours: Column, theirs: Column) -> None:
    print(f"\nper language (newsarchive / trafilatura; end to end)\n{'lang':<6}{'pages':>6}", end="")
    print("".join(f"{LABELS[name]:>16}" for name in FIELDS))
    languages = Counter(page.language for page in pages)
    for language, count in sorted(languages.items(), key=lambda item: (-item[1], item[0])):
        ids = [page.id for page in pages if page.language == language]
        cells = []
        for name in FIELDS:
            a, b = ours.mean(name, ids)[0], theirs.mean(name, ids)[0]
            cells.append(f"{short(name, a)}/{short(name, b)}")
        print(f"{language:<6}{count:>6}" + "".join(f"{cell:>16}" for cell in cells))


def short(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0%}" if name in AS_PERCENT else f"{value:.2f}"


def print_targets(ours: Column, theirs: Column, ids: Sequence[str]) -> bool:
    print(f"\n{'target (end to end)':<22}{'goal':>8}{'newsarchive':>14}{'trafilatura':>14}  verdict")
    passed = True
    for name, goal in TARGETS.items():
        value, _ = ours.mean(name, ids)
        other, _ = theirs.mean(name, ids)
        ok = value is not None and value >= goal
        passed &= ok
        print(
            f"{LABELS[name]:<22}{'>= ' + shown(name, goal):>8}{shown(name, value):>14}{shown(name, other):>14}  "
            f"{'PASS' if ok else 'FAIL'}"
        )
    return passed


def print_rejected(pages: Sequence[Page], stored: dict[str, Stored]) -> None:
    missing = [page for page in pages if stored[page.id].article is None]
    print(f"\nreal articles not archived: {len(missing)} of {len(pages)}")
    kinds = Counter(stored[page.id].reason_kind or stored[page.id].outcome or "never fetched" for page in missing)
    if kinds:
        print("  by reason_kind: " + ", ".join(f"{kind} {count}" for kind, count in kinds.most_common()))
    for page in missing:
        fetch = stored[page.id]
        what = f"{fetch.outcome or 'never fetched'} / {fetch.reason_kind or '-'}: {fetch.reason or ''}"
        print(f"  {page.id:<40} {clip(page.publisher, 24):<24} {clip(what, 110)}")


def print_failures(pages: Sequence[Page], ours: Column, stored: dict[str, Stored], limit: int) -> None:
    by_id = {page.id: page for page in pages}
    for name in FIELDS[1:]:
        wrong = [(scores[name], page_id) for page_id, scores in ours.scores.items() if name in scores]
        wrong = sorted((item for item in wrong if item[0].value < 1.0), key=lambda item: (item[0].value, item[1]))
        wrong = [item for item in wrong if stored[item[1]].article is not None]  # the rest: listed above
        print(
            f"\nworst {LABELS[name]} (newsarchive, archived pages): {len(wrong)} pages below 1, "
            f"showing {min(limit, len(wrong))}"
        )
        for score, page_id in wrong[:limit]:
            page = by_id[page_id]
            head = f"  {page_id} ({page.publisher}, {page.language})"
            if name == "body":
                detail, _, body = score.expected.partition(" | ")
                print(f"{head}: {detail}")
                print(f"      expected: {clip(body, 150)}")
                print(f"      got:      {clip(score.got, 150)}")
                print(f"      expected end: …{' '.join(body.split())[-100:]}")
                print(f"      got end:      …{' '.join(score.got.split())[-100:]}")
            else:
                print(f"{head}: {score.value:.2f}")
                print(f"      expected: {clip(score.expected, 150)}")
                print(f"      got:      {clip(score.got, 150)}")


# --- the run --------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES, help="the realworld fixture folder")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target fails")
    parser.add_argument("--show-failures", type=int, default=0, metavar="N", help="the N worst pages per field")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR", help="keep the archive and crawl output")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds before the crawl is killed")
    parser.add_argument("-s", "--set", dest="settings", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO_ROOT))
    from crawler.demo.server import serve

    pages = load_pages(args.fixtures.resolve())
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="realworld-") as scratch:
        folder = args.keep or Path(scratch)
        db = folder / "realworld.db"
        if db.exists():
            db.unlink()
        with serve(site_app(pages)) as site, ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            base = site.base_url
            started = time.monotonic()
            futures: dict[str, Future[dict[str, Any] | None]] = {
                page.id: pool.submit(trafilatura_fields, page.html, page.truth["url"]) for page in pages
            }
            print(f"{len(pages)} pages served at {base}; crawling …", file=sys.stderr, flush=True)
            code, crawl_wall = crawl(folder, base, len(pages), args.settings, args.timeout)
            extracted = {page_id: future.result() for page_id, future in futures.items()}
            both_wall = time.monotonic() - started
            stored = stored_pages(db, base, pages)

    ours, archived_only, theirs = Column("newsarchive"), Column("archived only"), Column("trafilatura")
    for page in pages:
        ours.scores[page.id] = score_page(page, stored[page.id].article)
        if stored[page.id].article is not None:
            archived_only.scores[page.id] = ours.scores[page.id]
        # trafilatura sets a language only when asked to check one (target_language, with py3langid)
        theirs.scores[page.id] = score_page(page, extracted[page.id], unreported=("language",))
    archived_only.scores.update(
        {
            page.id: {"archived": ours.scores[page.id]["archived"]}
            for page in pages
            if page.id not in archived_only.scores
        }
    )

    ids = [page.id for page in pages]
    languages = Counter(page.language for page in pages)
    print(
        f"realworld: {len(pages)} pages, {len({page.publisher for page in pages})} publishers, "
        f"{len(languages)} languages ({args.fixtures})"
    )
    print(f"crawl: exit {code}, {crawl_wall:.1f} s; crawl and trafilatura together {both_wall:.1f} s")
    print("scores: title/date/language share of pages right; authors/body mean F1; archived: real articles stored")
    print_overall([ours, archived_only, theirs], ids)
    print_languages(pages, ours, theirs)
    passed = print_targets(ours, theirs, ids)
    print_rejected(pages, stored)
    if args.show_failures:
        print_failures(pages, ours, stored, args.show_failures)
    if args.check and (not passed or code != 0):
        sys.exit(1)


if __name__ == "__main__":
    main()
