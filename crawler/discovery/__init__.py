"""Finding article URLs: URL rules, feeds, sitemaps, link-following rules. Pure functions; no Scrapy components."""
