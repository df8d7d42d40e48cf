"""Turn the crawler's plain dicts (article, fetch, Scrapy stats) into archive column values.

The crawler hands over loosely-typed dicts; these functions pick the known keys (unknown keys
are ignored, missing ones become None), encode lists/dicts as JSON text, add the UTC-normalised
dates and the text fingerprints, and make Scrapy stats JSON-safe. No settings.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from .dates import format_utc, to_utc_iso, utc_now_iso
from .dedup import content_hash, word_count

# Descriptive fields that an "unchanged" re-fetch may fill in when the stored value is empty.
METADATA_COLUMNS = (
    "title",
    "authors",
    "published_at",
    "published_at_utc",
    "modified_at",
    "modified_at_utc",
    "language",
    "language_declared",
    "language_detected",
    "description",
    "site_name",
    "categories",
    "tags",
    "image",
    "hints",
    "syndicated_from",
)
# Columns that together make one version of an article's content (snapshotted on change).
CONTENT_COLUMNS = (*METADATA_COLUMNS, "url", "text", "word_count", "content_hash", "fetch_mode")

FETCH_COLUMNS = (
    "url",
    "final_url",
    "status",
    "content_type",
    "bytes",
    "fetched_at",
    "elapsed_ms",
    "found_by",
    "depth",
    "referer",
    "fetch_mode",
    # The article/non-article decision's weighed signals (crawler/extraction/classify.py), JSON.
    "evidence",
    # The WARC record of the answer (crawler/warc/): its file in the WARC folder, offset and length.
    "warc_file",
    "warc_offset",
    "warc_length",
)


def to_json(value: Any) -> str | None:
    """JSON text for a list/dict column; None stays NULL; a lone string becomes a one-item list."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    elif isinstance(value, (set, tuple)):
        value = list(value)
    return json.dumps(json_safe(value), ensure_ascii=False)


def is_blank(value: Any) -> bool:
    """True for values that carry no information: None, "", and empty JSON containers."""
    return value is None or (isinstance(value, str) and value.strip() in ("", "[]", "{}"))


def from_json(value: Any) -> Any:
    """A JSON column's value decoded (a list, an object); a value that is not JSON text is returned as it is."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def article_columns(article: Mapping[str, Any]) -> dict[str, Any]:
    """Column values for `articles` derived from the crawler's article dict (no bookkeeping columns)."""
    text = article.get("text")
    published_at = _optional_text(article.get("published_at"))
    modified_at = _optional_text(article.get("modified_at"))
    return {
        "url": article["url"],
        "source": article.get("source"),
        "title": article.get("title"),
        "authors": to_json(article.get("authors")),
        "published_at": published_at,
        "published_at_utc": to_utc_iso(published_at),
        "modified_at": modified_at,
        "modified_at_utc": to_utc_iso(modified_at),
        "language": article.get("language"),
        "language_declared": article.get("language_declared"),
        "language_detected": article.get("language_detected"),
        "description": article.get("description"),
        "site_name": article.get("site_name"),
        "categories": to_json(article.get("categories")),
        "tags": to_json(article.get("tags")),
        "image": article.get("image"),
        "syndicated_from": article.get("syndicated_from"),
        "text": text,
        "word_count": word_count(text),
        "content_hash": content_hash(text),
        "fetch_mode": article.get("fetch_mode"),
        "hints": to_json(article.get("hints")) if isinstance(article.get("hints"), Mapping) else None,
    }


def fetch_columns(fetch: Mapping[str, Any]) -> dict[str, Any]:
    """Column values for `fetches` from the crawler's fetch dict; `fetched_at` defaults to now."""
    values = {column: fetch.get(column) for column in FETCH_COLUMNS}
    evidence = values["evidence"]
    values["evidence"] = evidence if evidence is None or isinstance(evidence, str) else to_json(evidence)
    fetched_at = values["fetched_at"]
    if isinstance(fetched_at, datetime):
        values["fetched_at"] = format_utc(fetched_at)
    elif not fetched_at:
        values["fetched_at"] = utc_now_iso()
    return values


def unique_urls(urls: Iterable[str | None]) -> list[str]:
    """The non-empty URLs in first-seen order, without repeats."""
    seen: dict[str, None] = {}
    for url in urls:
        if url and url not in seen:
            seen[url] = None
    return list(seen)


def json_safe(value: Any) -> Any:
    """A copy of `value` that json.dumps accepts: datetimes -> ISO UTC "Z", sets -> lists, others -> str."""
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(item) for item in value]
    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _optional_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    return text or None
