"""Exact and near-duplicate detection for archived article text.

Exact duplicates: `content_hash` is the sha256 of the text with whitespace runs collapsed, so
re-wrapped copies of the same text hash alike. Near duplicates (syndicated copies with small
edits): a MinHash over word 5-shingles (64 permutations) per article, stored in table
`article_minhashes`, and its LSH buckets in table `article_lsh` (an index in the archive, not in
memory: the cost of a crawl process does not grow with the archive, and signatures written by
other crawl processes are seen at once). The LSH proposes candidates; a candidate counts as a near duplicate when the exact
Jaccard similarity of the two texts' shingle sets is at least 0.85. The constants below are the settings; changing
`NUM_PERM`, `SEED` or `SCHEME` makes stored signatures incomparable, which is why every row
records them and rows with other parameters are ignored.

Signatures are datasketch's ``affine32`` MinHash values, computed by :mod:`archive.minhash` with
numpy alone (datasketch would import scipy: ~55 MB and ~1 s in every process that computes one).
numpy is imported inside the functions that compute or compare signatures, so a process that only
reads the archive (the CLI, the scheduler, monitors) does not pay for it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import minhash
from .models import FoundBy

if TYPE_CHECKING:
    import numpy as np
    from sqlite_utils import Database

    Signature = np.ndarray  # NUM_PERM uint32 values

NUM_PERM = 64
SEED = 1
SCHEME = minhash.SCHEME
SHINGLE_WORDS = 5
NEAR_DUPLICATE_THRESHOLD = 0.85
# The LSH only proposes candidates; tuned lower than the threshold so that a pair at 0.85 is
# proposed ~99% of the time (at 0.85 itself, 64 permutations banded for 0.85 miss about half).
LSH_CANDIDATE_THRESHOLD = 0.6
# LSH banding for LSH_CANDIDATE_THRESHOLD with NUM_PERM permutations (what datasketch's MinHashLSH
# picks for 0.6 and 64: 10 bands of 6 values; the last 4 values are in no band).
LSH_BANDS = 10
LSH_ROWS = 6
MAX_CANDIDATES_CHECKED = 10
MAX_LSH_CANDIDATES = 500
# Below this many words a few shared sentences (bylines, boilerplate) make unrelated short
# pieces look alike, so short texts are not compared at all.
MIN_WORDS_FOR_NEAR_DUPLICATE = 30

_WORD = re.compile(r"\w+", re.UNICODE)
_SIGNATURE_DTYPE = "<u4"  # little-endian uint32, whatever the machine


def normalise_whitespace(text: str | None) -> str:
    """Collapse whitespace runs to one space and strip the ends."""
    return " ".join((text or "").split())


def content_hash(text: str | None) -> str:
    """sha256 hex of the whitespace-normalised text (the archive's exact-duplicate key)."""
    return hashlib.sha256(normalise_whitespace(text).encode("utf-8")).hexdigest()


def word_count(text: str | None) -> int:
    """Number of whitespace-separated words."""
    return len((text or "").split())


def shingles(text: str | None, size: int = SHINGLE_WORDS) -> Iterator[bytes]:
    """Word `size`-shingles of the lower-cased text, as bytes for hashing; a shorter text is one shingle."""
    words = _WORD.findall((text or "").lower())
    if not words:
        return
    if len(words) <= size:
        yield " ".join(words).encode("utf-8")
        return
    for start in range(len(words) - size + 1):
        yield " ".join(words[start : start + size]).encode("utf-8")


def jaccard(first: set[bytes], second: set[bytes]) -> float:
    """Exact Jaccard similarity of two shingle sets (0.0 when both are empty)."""
    union = len(first | second)
    return len(first & second) / union if union else 0.0


def is_comparable(text: str | None) -> bool:
    """Whether the text is long enough to be compared for near duplicates (and so gets a MinHash)."""
    return word_count(text) >= MIN_WORDS_FOR_NEAR_DUPLICATE


def text_minhash(text: str | None) -> Signature | None:
    """MinHash signature of the text (NUM_PERM uint32 values), or None if the text is too short to compare fairly."""
    if not is_comparable(text):
        return None
    return minhash.signature(shingles(text), NUM_PERM, SEED)


def text_signature(text: str | None) -> bytes | None:
    """The text's MinHash as stored (:func:`signature_to_blob`), None when it is too short to compare.

    A plain function of the text, so it can run in another process (a crawl's extraction workers
    do) and be handed to ``Archive.save_article(signature=...)``.
    """
    values = text_minhash(text)
    return signature_to_blob(values) if values is not None else None


def signature_to_blob(values: Signature) -> bytes:
    """Serialise the signature's hash values for the `article_minhashes.signature` column."""
    import numpy as np

    return np.asarray(values, dtype=_SIGNATURE_DTYPE).tobytes()


def blob_to_signature(blob: bytes) -> Signature:
    """Inverse of `signature_to_blob`."""
    import numpy as np

    return np.frombuffer(blob, dtype=_SIGNATURE_DTYPE).astype(np.uint32)


def lsh_buckets(blob: bytes) -> list[int]:
    """The LSH buckets of a stored signature (:func:`signature_to_blob`): one per band of
    ``LSH_ROWS`` hash values, as a signed 64-bit digest of the band's number and values."""
    buckets = []
    for band in range(LSH_BANDS):
        values = blob[band * LSH_ROWS * 4 : (band + 1) * LSH_ROWS * 4]
        digest = hashlib.blake2b(bytes([band]) + values, digest_size=8).digest()
        buckets.append(int.from_bytes(digest, "little", signed=True))
    return buckets


def index_signature(db: Database, article_id: int, blob: bytes | None) -> None:
    """Put the article's signature in table ``article_lsh`` (replacing what it had); None: take it out."""
    db.execute("DELETE FROM article_lsh WHERE article_id = ?", [article_id])
    if blob is not None:
        db.conn.executemany(
            "INSERT OR IGNORE INTO article_lsh (bucket, article_id) VALUES (?, ?)",
            [(bucket, article_id) for bucket in lsh_buckets(blob)],
        )


class NearDuplicateIndex:
    """Near-duplicate candidates from table ``article_lsh`` (an LSH index kept in the archive itself).

    The index lives in SQLite, not in memory: a crawl process costs the same whatever the archive's
    size, and what other processes wrote is seen at once. The table is written with the signatures
    (``archive.articles.store_minhash``); this class only reads it.
    """

    def best_match(self, db: Database, values: Signature, text: str) -> int | None:
        """Id of the stored article whose text is most similar to `text` (shingle Jaccard >= threshold), else None."""
        buckets = lsh_buckets(signature_to_blob(values))
        placeholders = ", ".join("?" for _ in buckets)
        # Cap what one save can cost when many stored pages look alike (templated boilerplate).
        candidates = [
            article_id
            for (article_id,) in db.execute(
                f"SELECT DISTINCT article_id FROM article_lsh WHERE bucket IN ({placeholders}) LIMIT ?",
                [*buckets, MAX_LSH_CANDIDATES],
            )
        ]
        if not candidates:
            return None
        placeholders = ", ".join("?" for _ in candidates)
        rows = db.execute(
            f"SELECT article_id, signature FROM article_minhashes WHERE article_id IN ({placeholders})"
            " AND num_perm = ? AND seed = ? AND scheme = ?",
            [*candidates, NUM_PERM, SEED, SCHEME],
        ).fetchall()
        # Check the most promising few exactly; 64-permutation estimates are too coarse
        # (about +-0.04) to decide on their own.
        estimated = sorted(
            ((minhash.similarity(values, blob_to_signature(blob)), article_id) for article_id, blob in rows),
            reverse=True,
        )
        shortlist = [article_id for _, article_id in estimated[:MAX_CANDIDATES_CHECKED]]
        if not shortlist:
            return None
        placeholders = ", ".join("?" for _ in shortlist)
        texts = db.execute(f"SELECT id, text FROM articles WHERE id IN ({placeholders})", shortlist).fetchall()
        own_shingles = set(shingles(text))
        scored = [(jaccard(own_shingles, set(shingles(other_text))), -article_id) for article_id, other_text in texts]
        # Ties go to the oldest article, the likeliest original.
        confirmed = [item for item in scored if item[0] >= NEAR_DUPLICATE_THRESHOLD]
        return -max(confirmed)[1] if confirmed else None


# Among exact copies first met in the same crawl (whose order is arbitrary), the original is the
# earliest published, then one the site lists itself (sitemap, feed, start URL), then one at a
# dated article path rather than an agency or section path, then the shortest URL.
_DATED_PATH = re.compile(r"/(19|20)\d\d/[01]?\d/")
LISTED_BY_SITE = (FoundBy.SITEMAP, FoundBy.FEED, FoundBy.START)


def original_rank(url: str, published_at_utc: str | None, found_by: str | None) -> tuple[Any, ...]:
    """Sort key among exact copies of one text: the smallest is the original."""
    return (
        published_at_utc or "~",  # after every ISO date
        0 if found_by in LISTED_BY_SITE else 1,
        0 if _DATED_PATH.search(urlsplit(url).path) else 1,
        len(url),
        url,
    )
