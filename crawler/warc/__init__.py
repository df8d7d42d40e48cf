"""WARC (ISO 28500) records of every response a crawl receives: a plain library (warcio and the
standard library, no Scrapy), used by crawler.middlewares.warc_records and by the archive's readers.

- :mod:`crawler.warc.naming`: where a crawl's WARC files go and what they are called.
- :mod:`crawler.warc.writer`: :class:`~crawler.warc.writer.WarcWriter` (rotating, gzipped record by
  record, flushed after each) and :func:`~crawler.warc.writer.recover` (files a killed crawl left).
- :mod:`crawler.warc.capture`: the records of one exchange (request, response or revisit, metadata;
  a browser page as a resource), and the pointer the archive keeps.
- :mod:`crawler.warc.reader`: one record read back at its pointer, revisits resolved.
"""
