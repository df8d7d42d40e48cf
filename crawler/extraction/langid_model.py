"""py3langid's model, unpacked once into a cache folder and memory-mapped, so workers share one copy.

py3langid ships its model LZMA-compressed (4.5 MB) and unpacks it into private memory in every
process that detects a language: ~70 MB per extraction worker (a 27 MB float16 score table and a
40 MB state-transition table), about half of a worker's memory, and ~0.5 s of CPU at each worker's
start. Unpacked once into plain ``.npy`` files and opened with ``mmap_mode="r"``, the two tables are
file pages: every worker of every crawl on the machine maps the same ones (the kernel keeps one
copy; PSS shares it out), and a worker starts in milliseconds.

The files are py3langid's own arrays, unchanged (:func:`py3langid.modelio.load_model` reads them),
so a mapped identifier scores exactly as py3langid's own does (tests/test_language.py compares
them). The folder is named after the digest of the model file, so a py3langid upgrade unpacks its
new model beside the old one. Where the cache cannot be written (a read-only home), the model is
loaded the usual way, in private memory.

Where: ``$NEWSARCHIVE_CACHE_DIR`` when set, else the user's cache folder
(:func:`platformdirs.user_cache_path`, ``~/.cache/newsarchive`` on Linux). No Scrapy settings:
extraction also runs outside a crawl.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

CACHE_ENV = "NEWSARCHIVE_CACHE_DIR"
COMPLETE = "complete"  # written last: a folder without it is a crash's leftover
_TYPECODE = {2: "H", 4: "I", 8: "L"}


def cache_root() -> Path:
    """Where newsarchive keeps derived files that can always be rebuilt."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    import platformdirs

    return platformdirs.user_cache_path("newsarchive")


def model_file() -> Path:
    from py3langid.langid import MODEL_DIR, MODEL_FILE

    return Path(MODEL_DIR) / MODEL_FILE


def unpacked_folder(model: Path, root: Path) -> Path:
    """The model's unpacked folder under ``root``, named by the model file's digest."""
    digest = hashlib.sha256(model.read_bytes()).hexdigest()[:16]
    return root / f"py3langid-{digest}"


def unpack(model: Path, folder: Path) -> None:
    """Write the model's arrays into ``folder`` as ``.npy`` files. Built in a temporary folder beside
    it and renamed into place, so readers only ever see a complete folder (another process that
    unpacked it first wins; its files are the same)."""
    import numpy as np
    from py3langid.modelio import load_model

    ptc, pc, classes, nextmove, row, output = load_model(model)
    folder.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        np.save(building / "ptc.npy", np.asarray(ptc))
        np.save(building / "pc.npy", np.asarray(pc))
        np.save(building / "classes.npy", np.asarray(classes))
        np.save(building / "nextmove.npy", np.frombuffer(nextmove, dtype=f"u{nextmove.itemsize}"))
        np.save(building / "row.npy", np.frombuffer(row, dtype=f"u{row.itemsize}"))
        np.save(building / "output.npy", np.asarray(output, dtype=np.int64))
        (building / COMPLETE).write_text(f"{model}\n", encoding="utf-8")
        try:
            os.rename(building, folder)
        except OSError:
            if not (folder / COMPLETE).exists():
                raise
    finally:
        if building.exists():
            shutil.rmtree(building, ignore_errors=True)


def mapped_identifier(folder: Path, **options: Any) -> Any:
    """A :class:`py3langid.langid.LanguageIdentifier` over the memory-mapped arrays of ``folder``."""
    import numpy as np
    from py3langid.langid import LanguageIdentifier

    ptc = np.load(folder / "ptc.npy", mmap_mode="r")
    nextmove = np.load(folder / "nextmove.npy", mmap_mode="r")
    row = np.load(folder / "row.npy")
    # The identifier walks its state table one byte at a time; a memoryview reads a plain int per
    # step, as fast as py3langid's own array.array, where a NumPy array would box every value.
    transitions = memoryview(nextmove).cast("B").cast(_TYPECODE[nextmove.itemsize])
    return LanguageIdentifier(
        ptc,
        np.load(folder / "pc.npy"),
        np.load(folder / "classes.npy").tolist(),
        transitions,
        np.load(folder / "output.npy").tolist(),
        tk_row=row.tolist(),
        **options,
    )


def load_identifier(root: Path | None = None, **options: Any) -> Any:
    """py3langid's identifier, memory-mapped from the cache (unpacked there first if need be); loaded
    the usual way, in private memory, when the cache cannot be written or read."""
    model = model_file()
    try:
        folder = unpacked_folder(model, cache_root() if root is None else root)
        if not (folder / COMPLETE).exists():
            unpack(model, folder)
        return mapped_identifier(folder, **options)
    except (OSError, ValueError) as error:
        logger.warning(
            "could not keep py3langid's model in the cache folder (%s: %s); each extraction worker "
            "loads its own copy (~70 MB). Set %s to a writable folder to share one.",
            type(error).__name__,
            error,
            CACHE_ENV,
        )
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        return LanguageIdentifier.from_model_file(MODEL_FILE, **options)
