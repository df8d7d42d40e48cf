"""Watching crawls over months: health rules, alerts, Prometheus metrics, per-run logs, ``doctor``. No Scrapy."""
