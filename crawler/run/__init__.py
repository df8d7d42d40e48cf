"""Running one crawl: the crawl process (the child, ``crawl_process``) and its parent's side (``supervisor``:
start, watch, stop, close). The only package that imports ``spiders``.
"""
