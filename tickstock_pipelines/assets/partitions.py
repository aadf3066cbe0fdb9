"""One dynamic partition per symbol: backfills, freshness and history are per ticker in the UI."""

from dagster import DynamicPartitionsDefinition

SYMBOL_PARTITIONS_NAME = "symbols"
symbol_partitions = DynamicPartitionsDefinition(name=SYMBOL_PARTITIONS_NAME)
