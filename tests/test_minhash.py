"""archive.minhash gives datasketch's own affine32 MinHash values (so stored signatures stay comparable).

datasketch is the reference here and only here: the archive computes signatures with numpy alone.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash

from archive import dedup, minhash
from archive.dedup import NUM_PERM, SEED, shingles


def datasketch_values(items: list[bytes], num_perm: int = NUM_PERM, seed: int = SEED) -> np.ndarray:
    reference = MinHash(num_perm=num_perm, seed=seed, scheme="affine32")
    reference.update_batch(items)
    return reference.hashvalues


def words(rng: random.Random, count: int) -> str:
    vocabulary = [f"w{n}" for n in range(400)] + ["harbour", "Zürich", "straße", "日本語", "naïve"]
    return " ".join(rng.choice(vocabulary) for _ in range(count))


@pytest.mark.parametrize("seed", range(8))
def test_the_values_are_datasketchs_for_article_texts(seed: int) -> None:
    text = words(random.Random(seed), 40 + 97 * seed)
    items = list(shingles(text))
    ours = minhash.signature(items, NUM_PERM, SEED)
    assert ours.dtype == np.uint32
    assert np.array_equal(ours, datasketch_values(items))
    assert dedup.text_signature(text) == np.asarray(datasketch_values(items), dtype="<u4").tobytes()


@pytest.mark.parametrize(("num_perm", "seed"), [(16, 1), (128, 7), (256, 42)])
def test_other_permutation_counts_and_seeds_match_too(num_perm: int, seed: int) -> None:
    items = [f"item {n}".encode() for n in range(300)]
    assert np.array_equal(minhash.signature(items, num_perm, seed), datasketch_values(items, num_perm, seed))


def test_the_similarity_is_datasketchs_estimate() -> None:
    rng = random.Random(3)
    first = list(shingles(words(rng, 400)))
    second = first[:300] + list(shingles(words(rng, 100)))
    ours = minhash.similarity(minhash.signature(first, NUM_PERM, SEED), minhash.signature(second, NUM_PERM, SEED))
    theirs = LeanMinHash(seed=SEED, hashvalues=datasketch_values(first), scheme="affine32").jaccard(
        LeanMinHash(seed=SEED, hashvalues=datasketch_values(second), scheme="affine32")
    )
    assert ours == theirs and 0.3 < ours < 0.95


def test_no_items_no_signature() -> None:
    assert minhash.signature([], NUM_PERM, SEED) is None
