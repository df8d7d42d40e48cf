"""newsarchive's crawl layer: Scrapy settings, items, source config, CLI and extensions."""
