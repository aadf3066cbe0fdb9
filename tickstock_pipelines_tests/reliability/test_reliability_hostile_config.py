"""Hostile cache config files: generated YAML documents and random bytes are refused in one line naming
the file, or load as a valid config."""

from __future__ import annotations

import string

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tickstock_pipelines.cache.config import CacheConfig, CacheConfigError, load_config
from tickstock_pipelines.loading.requests import (
    TICKER_PATTERN,
)
from tickstock_pipelines_tests.support.hostile_strategies import assert_one_line, hostile_text

# --- cache config files -------------------------------------------------------------------------------------

yaml_scalars = st.one_of(hostile_text, st.integers(), st.floats(allow_nan=False), st.booleans(), st.none())
yaml_values = st.recursive(yaml_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(string.ascii_lowercase + "_", max_size=12), inner,
                                                 max_size=3)), max_leaves=8)
config_docs = st.one_of(
    st.dictionaries(st.sampled_from(["themes", "market_cap", "industry_groups", "etf_categories",
                                     "sector_leaders", "complete", "quality", "leaders", "nope"]),
                    yaml_values, max_size=3),
    st.builds(lambda key, name, tickers: {"themes": {key: {"display_name": name, "tickers": tickers}}},
              st.text(max_size=12), hostile_text, st.lists(hostile_text, max_size=3)),
)


@settings(max_examples=100, deadline=None)
@given(config_docs)
@example({"themes": {"ai": {"display_name": "AI", "tickers": ["NVDA", "X'; DROP TABLE cache_entries"]}}})
def test_a_cache_config_file_is_refused_in_one_line_naming_the_file_or_is_valid(
        tmp_path_factory: pytest.TempPathFactory, document: dict) -> None:
    import yaml

    path = tmp_path_factory.mktemp("config") / "mine.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    try:
        config = load_config(path)
    except CacheConfigError as exc:
        assert_one_line(str(exc))
        assert str(path) in str(exc) or "(shipped)" in str(exc)
        return
    assert isinstance(config, CacheConfig)
    for theme in config.themes.values():
        assert all(TICKER_PATTERN.match(t) for t in theme.tickers)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
@example(b"\x80")
@example(b"\x00")
def test_a_cache_config_file_of_random_bytes_is_refused_in_one_line_or_is_valid(
        tmp_path_factory: pytest.TempPathFactory, content: bytes) -> None:
    path = tmp_path_factory.mktemp("config") / "bytes.yaml"
    path.write_bytes(content)
    try:
        load_config(path)
    except CacheConfigError as exc:
        assert_one_line(str(exc))
