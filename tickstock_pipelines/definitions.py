"""The code location: market data assets, cache-entry families, schedules, sensors and resources.

Modules, not their `*_defs` objects, are imported so that this module holds exactly one `Definitions`.
"""

from dagster import Definitions

from tickstock_pipelines import orchestration
from tickstock_pipelines.assets import cache, market_data
from tickstock_pipelines.resources import RESOURCES
from tickstock_pipelines.terminal_logger import TERMINAL_LOGGER, tickstock_terminal_logger

defs = Definitions.merge(
    market_data.market_data_defs,
    cache.cache_defs,
    orchestration.orchestration_defs,
    # Settings in force show in the UI as the variables that set them (the key's value never does).
    Definitions(resources=RESOURCES, loggers={TERMINAL_LOGGER: tickstock_terminal_logger}),
)
