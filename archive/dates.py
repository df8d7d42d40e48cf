"""Timestamp helpers for the archive: "now" in UTC and normalising article dates to UTC.

Every timestamp the archive writes is ISO 8601 UTC with a trailing "Z". Article dates
(`published_at`, `modified_at`) are stored exactly as the site gave them and, next to
them, normalised to UTC by `to_utc_iso` so that researchers can sort and compare dates
across sources. No settings drive this module.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime

# A year ("2024") or a year and month ("2024-05") is a legitimate, if vague,
# publication date; it has no time of day to shift, so it is kept as given.
_PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2})?$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def utc_now_iso() -> str:
    """Return the current time as ISO 8601 UTC with millisecond precision, e.g. "2024-05-12T07:30:00.123Z"."""
    return iso_from_timestamp(datetime.now(UTC).timestamp())


def iso_from_timestamp(seconds: float) -> str:
    """POSIX seconds in the archive's timestamp format (utc_now_iso's), so stored times sort as text."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def format_utc(moment: datetime) -> str:
    """Format an aware or naive (assumed UTC) datetime as ISO 8601 UTC with "Z"."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_utc(value: str) -> datetime:
    """Parse a timestamp written by this archive (or any ISO 8601 string with offset) into an aware datetime."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def to_utc_iso(value: str | date | None) -> str | None:
    """Normalise an article date to UTC.

    - "2024-05-12T09:30:00+02:00" -> "2024-05-12T07:30:00Z"
    - "2024-05-12" (date only) -> "2024-05-12" (no time of day to shift)
    - a value without offset is taken to be UTC already (the site gave no zone)
    - RFC 2822 dates from feeds ("Sun, 12 May 2024 09:30:00 +0200") are understood
    - None, empty or unparseable -> None (the raw value is still stored by the caller)
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if not text:
        return None
    if _DATE_ONLY.match(text) or _PARTIAL_DATE.match(text):
        return text
    parsed = _parse_datetime(text)
    return format_utc(parsed) if parsed is not None else None


def _parse_datetime(text: str) -> datetime | None:
    iso_text = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        return datetime.fromisoformat(iso_text)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
