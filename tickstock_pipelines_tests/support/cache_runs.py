"""Cache rebuilds through Dagster for the cache tests: the families, the channels they announce on, and
materializing the cache assets as cache_rebuild_job runs them."""

from __future__ import annotations

import json
import threading
from typing import Any

import dagster as dg
import redis as redis_lib

from tickstock_pipelines.assets.cache import cache_entries
from tickstock_pipelines.assets.cache.checks import CACHE_CHECKS
from tickstock_pipelines.notifications import NOTIFIED_BY_CACHE, NOTIFIED_BY_TAG

FAMILIES = ["market_cap", "sector_leaders", "market_leaders", "themes", "industry", "etf_universes",
            "complete", "stats", "combo"]
CHANNELS = ["cache_updates", "universe_updates", "admin_notifications"]


def materialize_cache(resources: dict, instance: dg.DagsterInstance, **kwargs) -> dg.ExecuteInProcessResult:
    """As cache_rebuild_job runs it: tagged so the asset announces the outcome on admin_notifications."""
    kwargs["tags"] = {NOTIFIED_BY_TAG: NOTIFIED_BY_CACHE, **kwargs.get("tags", {})}
    return dg.materialize([cache_entries, *CACHE_CHECKS], resources=resources, instance=instance, **kwargs)


def materialization_metadata(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    """Each materialized asset's metadata values, by asset key."""
    out = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        values = {k: v.value for k, v in materialization.metadata.items()}
        out[materialization.asset_key.to_user_string()] = values
    return out


class Subscriber:
    """Listens on the three channels in a thread; yields (channel, payload) in arrival order."""

    def __init__(self, client: redis_lib.Redis) -> None:
        self.pubsub = client.pubsub(ignore_subscribe_messages=True)
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._listen, daemon=True)

    def _listen(self) -> None:
        while not self.stop.is_set():
            message = self.pubsub.get_message(timeout=0.05)
            if message is not None:
                self.messages.append((message["channel"].decode(), json.loads(message["data"])))

    def __enter__(self) -> list[tuple[str, dict[str, Any]]]:
        self.pubsub.subscribe(*CHANNELS)
        while self.pubsub.get_message(timeout=1) is not None:  # the subscribe confirmations
            pass
        self.thread.start()
        return self.messages

    def __exit__(self, *exc: object) -> None:
        deadline = threading.Event()
        deadline.wait(0.3)  # let in-flight messages arrive
        self.stop.set()
        self.thread.join()
        self.pubsub.close()
