"""Connecting to Redis, and riding out its absence.

:func:`connect` checks that the server answers (one clear error naming the URL otherwise: nothing
starts); :class:`Outage` is how every long-running part (workers, writer, seeder) waits for a Redis
that went away: exponential backoff from ``DISTRIBUTED_RETRY_BASE`` to ``DISTRIBUTED_RETRY_MAX``
seconds, one warning when it goes, one line when it is back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis

logger = logging.getLogger(__name__)
T = TypeVar("T")
# What a Redis that is down, restarting or unreachable raises (redis-py wraps socket errors in these).
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, redis.exceptions.BusyLoadingError)
CONNECT_TIMEOUT_S = 5.0


class RedisUnavailable(Exception):
    """Redis could not be reached at startup: the message names the URL and what to check."""


def shown_url(url: str) -> str:
    """The URL without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def client(url: str) -> redis.Redis:
    """A client for ``url`` (not checked). Bytes in, bytes out; short socket timeouts, so a dead server is noticed."""
    return redis.Redis.from_url(
        url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=30, health_check_interval=15
    )


def connect(url: str) -> redis.Redis:
    """A client for ``url`` that answered PING; :class:`RedisUnavailable` otherwise."""
    try:
        server = client(url)
        server.ping()
    except (redis.exceptions.RedisError, ValueError, OSError) as error:
        raise RedisUnavailable(
            f"cannot reach Redis at {shown_url(url)}: {error} (is redis-server running there, and is the "
            "[distributed] redis_url or --redis-url right?)"
        ) from None
    return server


class Outage:
    """Backoff while Redis is away, logged once per outage."""

    def __init__(self, what: str, base: float = 0.5, maximum: float = 10.0) -> None:
        self.what = what
        self.base = base
        self.maximum = maximum
        self.down_since: float | None = None
        self.failures = 0

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def failed(self, error: Exception) -> float:
        """Note a failed call; the seconds to wait before the next try."""
        if self.down_since is None:
            self.down_since = time.monotonic()
            logger.warning(
                "%s: Redis is unreachable (%s); waiting for it, retrying with backoff",
                self.what,
                error,
                extra={"event": "redis_down"},
            )
        self.failures += 1
        return min(self.maximum, self.base * 2 ** min(self.failures - 1, 16))

    def succeeded(self) -> None:
        if self.down_since is not None:
            logger.warning(
                "%s: Redis is back after %.1f s; continuing",
                self.what,
                time.monotonic() - self.down_since,
                extra={"event": "redis_back"},
            )
        self.down_since = None
        self.failures = 0

    def call(self, fn: Callable[[], T], sleep: Callable[[float], Any] = time.sleep) -> T:
        """``fn()`` until it gets through, waiting out outages (blocking: for threads and plain processes)."""
        while True:
            try:
                result = fn()
            except REDIS_DOWN as error:
                sleep(self.failed(error))
                continue
            self.succeeded()
            return result
