"""Faults end to end: API faults, crashes, dependencies down, concurrency, hostile input, secrets."""
