"""Dynamic partitions per symbol: backfills, freshness and history are per ticker in the UI.

Two sets, so that each bar asset's fill figure counts what was asked of it: `symbols` (ohlcv_daily, ETF
metadata's inputs) holds every symbol loaded with day bars, `minute_symbols` (ohlcv_minute) only the
symbols a request asked minute history for. An asset job runs over one set: minute bars load in their
own job.
"""

from dagster import DynamicPartitionsDefinition

SYMBOL_PARTITIONS_NAME = "symbols"
MINUTE_PARTITIONS_NAME = "minute_symbols"
symbol_partitions = DynamicPartitionsDefinition(name=SYMBOL_PARTITIONS_NAME)
minute_partitions = DynamicPartitionsDefinition(name=MINUTE_PARTITIONS_NAME)
# the partition set of each timespan's bar asset (coverage_targets.timespan → set name)
PARTITIONS_OF_TIMESPAN = {"day": SYMBOL_PARTITIONS_NAME, "minute": MINUTE_PARTITIONS_NAME}
