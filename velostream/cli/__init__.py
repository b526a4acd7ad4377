"""Command-line tools: ``velo-sql`` (one query) and ``velo-sql-multi`` (the job server).

The commands parse options and render results; the work itself lives in the library.
"""
