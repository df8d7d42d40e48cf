"""The ``newsarchive`` command line (click): a thin layer over the archive, the run supervisor and the
scheduler. The only package that imports ``scheduler``.
"""
