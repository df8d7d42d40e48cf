"""The sources file (``sources.toml``): field specs and parsers, the source and ops tables, loading.

Pure Python; no Scrapy. Every sources-file key and its default is declared once, in a FieldSpec.
"""
