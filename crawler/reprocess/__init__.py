"""Working again on what the crawls stored, without the network: the stored responses (WARC files)
extracted again with the current rules (:mod:`crawler.reprocess.reextract`, ``newsarchive reextract``),
and copied out as one WARC or WACZ file (:mod:`crawler.reprocess.warc_export`, ``newsarchive export
--format warc|wacz``). A plain library (no Scrapy): the archive, the extraction library and its worker
pool, and warcio.
"""
