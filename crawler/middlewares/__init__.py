"""Scrapy downloader middlewares, one per module, each built in ``from_crawler``."""
