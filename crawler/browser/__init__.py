"""Pages that need JavaScript: finding and checking Chromium (``chromium``), the validated render settings
(``render_settings``), scrapy-playwright's lazily started download handler (``download_handler``), and
``render_js = "auto"`` learning from earlier runs (``learning``).
"""
