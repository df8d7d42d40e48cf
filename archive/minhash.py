"""MinHash signatures, the same values as datasketch's ``affine32`` scheme, computed with numpy alone.

datasketch's ``MinHash(num_perm, seed, scheme="affine32")`` hashes each item with the first 4 bytes
of its SHA-1 (little-endian), mixes that with the MurmurHash3 32-bit finalizer, and keeps, for each
of ``num_perm`` affine permutations ``h -> a*h + b mod 2**32`` (``a`` odd; ``a`` and ``b`` drawn
from ``numpy.random.RandomState(seed)``, ``a`` first), the smallest value. This module does the same
in a dozen lines, because importing datasketch imports scipy for its LSH classes: ~55 MB of memory
and about a second in every process that computes a signature (each extraction worker, the crawl
process). tests/test_minhash.py checks the values against datasketch itself, which stays a test
dependency for that purpose. Signatures stored by earlier versions (made with datasketch) are the
same values, so they stay comparable. Imports numpy only when a function is called. No settings.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

SCHEME = "affine32"
# MurmurHash3's fmix32: shift, multiplier, shift, multiplier, shift.
_FMIX32 = (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16)


@functools.cache
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) parameters of the ``num_perm`` permutations for ``seed``, as datasketch draws them."""
    import numpy as np

    generator = np.random.RandomState(seed)
    a = generator.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def signature(items: Iterable[bytes], num_perm: int, seed: int) -> np.ndarray | None:
    """The MinHash of a set of byte strings: ``num_perm`` uint32 values (None for no items)."""
    import numpy as np

    digests = b"".join(hashlib.sha1(item).digest()[:4] for item in items)
    if not digests:
        return None
    hashed = np.frombuffer(digests, dtype="<u4").astype(np.uint32).reshape(-1, 1)
    shift1, multiply1, shift2, multiply2, shift3 = _FMIX32
    hashed = hashed ^ (hashed >> np.uint32(shift1))
    hashed = hashed * np.uint32(multiply1)
    hashed = hashed ^ (hashed >> np.uint32(shift2))
    hashed = hashed * np.uint32(multiply2)
    hashed = hashed ^ (hashed >> np.uint32(shift3))
    a, b = permutations(num_perm, seed)
    return (hashed * a + b).min(axis=0)  # uint32 arithmetic wraps: mod 2**32


def similarity(first: np.ndarray, second: np.ndarray) -> float:
    """The estimated Jaccard similarity of the two sets: the share of equal values."""
    import numpy as np

    return float(np.count_nonzero(first == second)) / float(len(first))
