"""Every Redis message: its channel, its shape, who announces it, and the store of what Redis missed.

- `channels`: channel names and the `tickstock/notified_by` tag (who announces a run's outcome).
- `messages`: the shape of each message.
- `delivery`: `publish_all`, the only code that talks to Redis; missed messages delivered oldest first.
- `announce`: the announcements made by the CLI, the cache asset and the reaper.
- `sensors`: the daemon's announcements and its delivery of missed messages.
"""

from tickstock_pipelines.notifications.announce import (
    announced_in_process,
    notify_admin,
    notify_committed,
    notify_rebuild_failed,
    notify_run_reaped,
)
from tickstock_pipelines.notifications.channels import (
    ADMIN_CHANNEL,
    CACHE_CHANNEL,
    NOTIFIED_BY_CACHE,
    NOTIFIED_BY_CLI,
    NOTIFIED_BY_TAG,
    UNIVERSE_CHANNEL,
)
from tickstock_pipelines.notifications.delivery import Delivery, deliver_missed, publish_all
from tickstock_pipelines.notifications.errors import first_step_error, step_failure_reason
from tickstock_pipelines.notifications.messages import load_message, theme_review_message

__all__ = [
    "ADMIN_CHANNEL", "CACHE_CHANNEL", "NOTIFIED_BY_CACHE", "NOTIFIED_BY_CLI", "NOTIFIED_BY_TAG",
    "UNIVERSE_CHANNEL", "Delivery", "announced_in_process", "deliver_missed", "first_step_error",
    "load_message", "notify_admin", "notify_committed", "notify_rebuild_failed", "notify_run_reaped",
    "publish_all", "step_failure_reason", "theme_review_message",
]
