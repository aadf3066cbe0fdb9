"""Market data (group `market_data`): symbols → ohlcv_daily / ohlcv_minute → etf_metadata, and load_job."""

from dagster import Definitions, define_asset_job

from tickstock_pipelines.assets.etf_metadata import etf_metadata
from tickstock_pipelines.assets.ohlcv import ohlcv_daily, ohlcv_minute
from tickstock_pipelines.assets.symbols import symbols

LOAD_JOB = "load_job"

load_job = define_asset_job(
    name=LOAD_JOB,
    selection=["symbols", "ohlcv_daily", "ohlcv_minute", "etf_metadata"],
    description="Load symbols and their bars (what `tickstock load` runs). Pick the symbol partitions to "
                "load bars for; ops.symbols.config says what to add (universe, symbols or CSV, history).",
)

market_data_defs = Definitions(assets=[symbols, ohlcv_daily, ohlcv_minute, etf_metadata], jobs=[load_job])
