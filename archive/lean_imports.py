"""Importing sqlite-utils without pandas and numpy, for the short-lived read commands.

sqlite-utils imports pandas and numpy as it is imported, whenever they are installed (the
development install has them, for the pandas examples of docs/research.md), only to recognise
their value types in inserts; the archive never inserts such values. That costs about half a
second, which every ``newsarchive search``, ``show``, ``stats`` and ``export`` paid even on an
eight-article archive. :func:`import_sqlite_utils_lean` imports sqlite-utils with the two hidden
for that moment; an import of pandas or numpy later in the process (pyarrow for Parquet, the
Datasette server) works as usual. The command line calls it before a command runs; a library user
who wants the same calls it before anything imports sqlite-utils. No settings.
"""

from __future__ import annotations

import importlib
import sys

DATAFRAME_LIBRARIES = ("pandas", "numpy")  # what sqlite-utils imports only to map value types


def import_sqlite_utils_lean() -> None:
    """Import sqlite-utils without importing pandas and numpy (a no-op once sqlite-utils is imported)."""
    if "sqlite_utils" in sys.modules:
        return
    hidden = [name for name in DATAFRAME_LIBRARIES if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # "import pandas" raises ImportError meanwhile
    try:
        importlib.import_module("sqlite_utils")
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
