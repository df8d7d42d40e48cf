"""Scrapy spiders of newsarchive (one: ``news``)."""
