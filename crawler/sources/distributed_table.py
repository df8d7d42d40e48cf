"""The ``[distributed]`` table of the sources file: where the Redis of distributed crawls is (issue 14).

``redis_url`` (none: distributed crawls need ``--redis-url``), ``key_prefix`` (every Redis key of
newsarchive starts with it, so several archives can share one Redis), ``scheduled`` (the scheduler
runs scheduled crawls distributed) and ``processes`` (local workers of such a run). Registered in
crawler.sources.ops_tables.OPS_TABLES, parsed like every other table; reference: docs/sources.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from crawler.sources.fields import FieldSpec, _shown, int_parser, invalid, parse_bool, spec_defaults

KEY_PREFIX = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
REDIS_SCHEMES = ("redis", "rediss", "unix")
KEY_PREFIX_EXAMPLE = '"newsarchive"'


def parse_redis_url(value: Any) -> str | None:
    if value == "":
        return None
    example = '(e.g. "redis://redis.internal:6379/0")'
    if not isinstance(value, str):
        raise invalid(f"expected a Redis URL string, got {_shown(value)} {example}")
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as error:
        raise invalid(f"{value!r} is not a Redis URL: {error} {example}") from None
    if parts.scheme not in REDIS_SCHEMES:
        raise invalid(f"{value!r} is not a Redis URL (redis://, rediss:// or unix://) {example}")
    if parts.scheme != "unix" and not parts.hostname:
        raise invalid(f"{value!r} names no host {example}")
    return value.strip()


def parse_key_prefix(value: Any) -> str:
    if not isinstance(value, str) or not KEY_PREFIX.match(value):
        raise invalid(
            f"{_shown(value)} is not a key prefix (1 to 64 letters, digits, '_', '.', ':' or '-', e.g. {KEY_PREFIX_EXAMPLE})"
        )
    return value


DISTRIBUTED_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "redis_url",
        "Redis URL",
        None,
        parse_redis_url,
        example='"redis://redis.internal:6379/0"',
        doc="The Redis of distributed crawls (`newsarchive crawl --distributed`, `worker`, `writer`); "
        "--redis-url overrides it.",
    ),
    FieldSpec(
        "key_prefix",
        "string",
        "newsarchive",
        parse_key_prefix,
        example=KEY_PREFIX_EXAMPLE,
        doc="Every Redis key starts with it: one Redis can serve several archives with different prefixes.",
    ),
    FieldSpec(
        "scheduled",
        "boolean",
        False,
        parse_bool,
        example="true",
        doc="`newsarchive schedule` runs the sources' scheduled crawls distributed: each run seeds its crawl "
        "into Redis and writes the archive, and `newsarchive worker` processes elsewhere fetch and extract.",
    ),
    FieldSpec(
        "processes",
        "integer",
        0,
        int_parser(0),
        example="2",
        doc="Local workers a scheduled distributed crawl starts beside its seeder and writer (0: workers "
        "elsewhere only).",
    ),
)
_DISTRIBUTED = spec_defaults(DISTRIBUTED_FIELDS)


@dataclass(frozen=True)
class DistributedConfig:
    """The ``[distributed]`` table (DISTRIBUTED_FIELDS)."""

    redis_url: str | None = _DISTRIBUTED["redis_url"]
    key_prefix: str = _DISTRIBUTED["key_prefix"]
    scheduled: bool = _DISTRIBUTED["scheduled"]
    processes: int = _DISTRIBUTED["processes"]
