"""The code location: market data assets, cache-entry families, schedules, sensors and resources.

Modules, not their `*_defs` objects, are imported so that this module holds exactly one `Definitions`.
"""

from dagster import Definitions, EnvVar

from tickstock_pipelines import orchestration
from tickstock_pipelines.assets import cache, market_data
from tickstock_pipelines.resources.database import DatabaseResource
from tickstock_pipelines.resources.polygon import PolygonResource
from tickstock_pipelines.resources.redis import RedisResource
from tickstock_pipelines.terminal_logger import TERMINAL_LOGGER, tickstock_terminal_logger

# Settings in force show in the UI as the variables that set them (the key's value never does).
polygon = PolygonResource(api_key=EnvVar("POLYGON_API_KEY"), base_url=EnvVar("POLYGON_BASE_URL"),
                          redis_url=EnvVar("REDIS_URL"))

defs = Definitions.merge(
    market_data.market_data_defs,
    cache.cache_defs,
    orchestration.orchestration_defs,
    Definitions(resources={"database": DatabaseResource(), "polygon": polygon, "redis": RedisResource()},
                loggers={TERMINAL_LOGGER: tickstock_terminal_logger}),
)
