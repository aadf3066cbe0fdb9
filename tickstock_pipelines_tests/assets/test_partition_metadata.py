"""Per-partition metadata over a whole-market run: Dagster checks each partition key against the run's
range by reading the whole dynamic partition set (three queries a call), so recording 10,000 partitions'
figures read 10,000 keys 10,000 times. `partitions_read_once` makes that one read per partition set."""

from __future__ import annotations

from dagster import DagsterInstance

from tickstock_pipelines.assets.bar_metadata import partitions_read_once


def test_the_partition_set_is_read_once_inside_and_live_again_after() -> None:
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("symbols", ["AAPL", "MSFT"])
    with partitions_read_once(instance):
        assert list(instance.get_dynamic_partitions("symbols")) == ["AAPL", "MSFT"]
        instance.add_dynamic_partitions("symbols", ["KO"])  # stored, but not read again
        assert list(instance.get_dynamic_partitions("symbols")) == ["AAPL", "MSFT"]
        assert instance.has_dynamic_partition("symbols", "MSFT")
        assert not instance.has_dynamic_partition("symbols", "KO")
        assert not instance.has_dynamic_partition("symbols", "PEP")
    assert list(instance.get_dynamic_partitions("symbols")) == ["AAPL", "MSFT", "KO"]
    assert instance.has_dynamic_partition("symbols", "KO")
    assert "get_dynamic_partitions" not in vars(instance) and "has_dynamic_partition" not in vars(instance)


def test_the_instance_is_restored_when_recording_fails() -> None:
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("symbols", ["AAPL"])
    try:
        with partitions_read_once(instance):
            raise RuntimeError("metadata failed")
    except RuntimeError:
        pass
    instance.add_dynamic_partitions("symbols", ["KO"])
    assert instance.has_dynamic_partition("symbols", "KO")
