"""Channel names and the tag that says who announces a run's outcome."""

CACHE_CHANNEL = "cache_updates"
UNIVERSE_CHANNEL = "universe_updates"
ADMIN_CHANNEL = "admin_notifications"

# A run's outcome on admin_notifications is announced by exactly one place. Untagged runs: the run-status
# sensors (daemon). `cli`: the `tickstock load` that launched it (the reaper when that process died).
# `cache_entries`: the cache asset inside the run, which alone knows what was committed.
NOTIFIED_BY_TAG = "tickstock/notified_by"
NOTIFIED_BY_CLI = "cli"
NOTIFIED_BY_CACHE = "cache_entries"
