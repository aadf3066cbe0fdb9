"""`tickstock` commands run as subprocesses: load, cache, interruptions."""
