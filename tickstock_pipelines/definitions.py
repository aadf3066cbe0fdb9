"""The code location: market data assets, cache-entry families, schedules, sensors and resources."""

from dagster import Definitions

from tickstock_pipelines.assets.cache import cache_defs
from tickstock_pipelines.assets.market_data import market_data_defs
from tickstock_pipelines.orchestration import orchestration_defs
from tickstock_pipelines.resources.database import DatabaseResource
from tickstock_pipelines.resources.polygon import PolygonResource
from tickstock_pipelines.resources.redis import RedisResource

defs = Definitions.merge(
    market_data_defs,
    cache_defs,
    orchestration_defs,
    Definitions(
        resources={
            "database": DatabaseResource(),
            "polygon": PolygonResource(),
            "redis": RedisResource(),
        }
    ),
)
