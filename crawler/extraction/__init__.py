"""A page to fields to a verdict: trafilatura plus our metadata reading (``extract``), article or not
(``classify``), and the worker process pool that keeps both off the reactor (``pool``).
"""
