"""The explicit, pickle-free encoding of what crosses Redis: items and Scrapy requests.

JSON, with three tagged forms: ``{"__b": base64}`` for bytes (a page's body), ``{"__t": NAME, "f":
{...}}`` for the dataclasses listed in :data:`TYPES` (nothing else is ever built from Redis data)
and ``{"__d": [[key, value], ...]}`` for a mapping whose keys are not all strings (request headers).
Tuples come back as lists, enums as their values (every enum here is a StrEnum, equal to its value).

``dumps``/``loads`` are module functions so that this module is scrapy-redis's
``SCHEDULER_SERIALIZER`` as it is: the request dict (``Request.to_dict``) goes through them.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import json
from typing import Any

from crawler.discovery.recrawl import KnownUrl, Visit
from crawler.items import (
    Fetch,
    FetchItem,
    ListedItem,
    NotFetchedItem,
    PageItem,
    PageNotesItem,
    RedirectedToKnownItem,
)

TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        Fetch,
        PageItem,
        FetchItem,
        ListedItem,
        PageNotesItem,
        NotFetchedItem,
        RedirectedToKnownItem,
        Visit,
        KnownUrl,
    )
}


class CodecError(ValueError):
    """Data from Redis that is not what this codec writes."""


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, enum.Enum):
        return _encode(value.value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"__b": base64.b64encode(bytes(value)).decode("ascii")}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        if TYPES.get(name) is not type(value):
            raise TypeError(f"{name} is not a type that may cross Redis (crawler.distributed.codec.TYPES)")
        return {"__t": name, "f": {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, dict) or hasattr(value, "items"):
        pairs = list(value.items())
        if all(isinstance(key, str) for key, _ in pairs) and not {"__b", "__t", "__d"} & set(value):
            return {str(key): _encode(item) for key, item in pairs}
        return {"__d": [[_encode(key), _encode(item)] for key, item in pairs]}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_encode(item) for item in value]
    raise TypeError(f"cannot encode {type(value).__name__} for Redis")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "__b" in value:
        return base64.b64decode(value["__b"])
    if "__d" in value:
        return {_hashable(_decode(key)): _decode(item) for key, item in value["__d"]}
    if "__t" in value:
        cls = TYPES.get(value["__t"])
        if cls is None:
            raise CodecError(f"unknown type {value['__t']!r} in data from Redis")
        fields = {f.name for f in dataclasses.fields(cls)}
        given = {name: _decode(item) for name, item in (value.get("f") or {}).items() if name in fields}
        return cls(**given)
    return {key: _decode(item) for key, item in value.items()}


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def dumps(obj: Any) -> str:
    return json.dumps(_encode(obj), ensure_ascii=False, separators=(",", ":"))


def loads(data: str | bytes) -> Any:
    try:
        return _decode(json.loads(data))
    except (ValueError, TypeError, KeyError) as error:
        raise CodecError(f"unreadable data from Redis: {error}") from error


def encode_message(kind: str, body: Any) -> str:
    """One entry of the item queue: ``kind`` (``item``, ``frontier``) and its body."""
    return dumps({"kind": kind, "body": body})


def decode_message(data: str | bytes) -> tuple[str, Any]:
    message = loads(data)
    if not isinstance(message, dict) or "kind" not in message:
        raise CodecError("an item queue entry without a kind")
    return message["kind"], message.get("body")
