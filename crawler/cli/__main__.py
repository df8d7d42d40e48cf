"""``python -m crawler.cli``: the same as the ``newsarchive`` command."""

from crawler.cli.main import main

main()
