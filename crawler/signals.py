"""newsarchive's own Scrapy signals (sent with ``crawler.signals.send_catch_log``), beside Scrapy's.

``frontier_spilled(source, entries)``: the spider's queue is full (``DISCOVERY_MAX_PENDING``), so these
found URLs (crawl_state rows: crawler.discovery.recrawl.Visit.frontier_entry) are not requested now;
the archive pipeline writes them to the source's frontier, and the spider reads them back as its
queue drains.
"""

frontier_spilled = object()
