"""Scrapy extensions, one per module, each built in ``from_crawler``."""
