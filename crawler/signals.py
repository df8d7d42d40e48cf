"""newsarchive's own Scrapy signals (sent with ``crawler.signals.send_catch_log``), beside Scrapy's.

``frontier_spilled(source, entries)``: the spider's queue is full (``DISCOVERY_MAX_PENDING``), so these
found URLs (crawl_state rows: crawler.discovery.recrawl.Visit.frontier_entry) are not requested now;
the archive pipeline writes them to the source's frontier, and the spider reads them back as its
queue drains.

``boilerplate_counted(source, pages, lines, learned)``: the boilerplate pipeline's counts so far
(``pages`` articles seen, ``lines`` as ``SiteBoilerplate.persisted()``, ``learned`` the fingerprints of
the lines it removes now), sent every ``BOILERPLATE_SAVE_EVERY`` articles; the archive pipeline saves
them in its current batch (one writer, no lock contention), so a killed run's counts survive up to its
last save; a distributed writer publishes ``learned`` to its workers (spiders.archive_writer).

``archive_opened(archive)``: the archive pipeline opened the archive (``archive.store.Archive``) it
writes this crawl to; the WARC middleware adds its ``sync`` to ``archive.before_commit``, so the
records a batch points to are on disk before the batch commits.
"""

frontier_spilled = object()
boilerplate_counted = object()
archive_opened = object()
