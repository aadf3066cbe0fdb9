"""Market data (group `market_data`): symbols → ohlcv_daily / ohlcv_minute → etf_metadata, and the load jobs.

An asset job runs over one partition set, so minute bars (the `minute_symbols` set) load in
`minute_load_job`, day bars and ETF metadata (the `symbols` set) in `load_job`.
"""

from dagster import Definitions, define_asset_job

from tickstock_pipelines.assets.etf_metadata import etf_metadata
from tickstock_pipelines.assets.ohlcv import ohlcv_daily, ohlcv_minute
from tickstock_pipelines.assets.partitions import MINUTE_PARTITIONS_NAME, SYMBOL_PARTITIONS_NAME
from tickstock_pipelines.assets.symbols import symbols

LOAD_JOB = "load_job"
MINUTE_LOAD_JOB = "minute_load_job"

load_job = define_asset_job(
    name=LOAD_JOB,
    selection=["symbols", "ohlcv_daily", "etf_metadata"],
    description="Load symbols and their day bars (what `tickstock load` runs). Pick the symbol partitions to "
                "load bars for; ops.symbols.config says what to add (universe, symbols or CSV, history).",
)
minute_load_job = define_asset_job(
    name=MINUTE_LOAD_JOB,
    selection=["symbols", "ohlcv_minute"],
    description="Load symbols and their minute bars (what `tickstock load --timespan minute` runs), over "
                "the `minute_symbols` partitions: the symbols a request asked minute history for.",
)
# the job that loads each partition set's bars
JOB_OF_PARTITIONS = {SYMBOL_PARTITIONS_NAME: LOAD_JOB, MINUTE_PARTITIONS_NAME: MINUTE_LOAD_JOB}

market_data_defs = Definitions(assets=[symbols, ohlcv_daily, ohlcv_minute, etf_metadata],
                               jobs=[load_job, minute_load_job])
