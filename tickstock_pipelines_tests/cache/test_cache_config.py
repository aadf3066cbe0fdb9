"""The cache definitions file: shipped defaults, user overlays, and one-line errors naming the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tickstock_pipelines.cache.config import ENV_VAR, CacheConfigError, load_config


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "cache.yaml"
    path.write_text(text)
    return str(path)


def test_shipped_config_is_valid_and_complete() -> None:
    config = load_config()
    assert [b.key for b in config.market_cap.buckets] == ["mega_cap", "large_cap", "mid_cap", "small_cap",
                                                          "micro_cap"]
    assert [b.min_market_cap for b in config.market_cap.buckets] == [200e9, 10e9, 2e9, 300e6, 0]
    assert {"banks", "insurance", "software", "retail", "semiconductors", "pharma", "reits", "utilities",
            "oil_gas"} <= set(config.industries)
    assert {"etf_broad_market", "etf_sectors", "etf_growth", "etf_value", "etf_technology", "etf_bonds",
            "etf_commodities", "etf_international"} <= set(config.etf_categories)
    assert config.themes["ev"].display_name == "EV" and "ON" in config.themes["ev"].tickers
    assert config.digest() == load_config().digest()


def test_user_file_overlays_the_shipped_one(tmp_path: Path) -> None:
    path = _write(tmp_path, """
themes:
  space: null
  custom:
    display_name: My Picks
    tickers: [AAPL, MSFT]
sector_leaders:
  top_n: 5
""")
    config = load_config(path)
    assert "space" not in config.themes and config.themes["custom"].display_name == "My Picks"
    assert config.themes["ai"].display_name == "AI"  # untouched themes stay
    assert config.sector_leaders.top_n == 5 and len(config.market_cap.buckets) == 5


def test_environment_variable_names_the_user_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, _write(tmp_path, "sector_leaders:\n  top_n: 3\n"))
    assert load_config().sector_leaders.top_n == 3


@pytest.mark.parametrize(("text", "line", "fragment"), [
    ("themes:\n  ai:\n    display_name: AI\n    tickers: [NVDA,\n              nvda!]\n", 5,
     "themes.ai.tickers[1]"),
    ("version: 1\nthemes:\n  ai:\n    display_name: AI\n    tickres: [NVDA]\n", 5, "themes.ai.tickres"),
    ("themes:\n  ev:\n    display_name: EV\n    tickers: [TSLA, ON]\n", 4, "quote this ticker"),
    ("market_cap:\n  buckets:\n    - {key: big, min_market_cap: 1}\n    - {key: huge, min_market_cap: 5}\n",
     1, "highest lower bound"),
    ("industries:\n  banks:\n    industry_patterns: ['(unclosed']\n", 3, "invalid regular expression"),
    ("themes:\n  Bad Key:\n    display_name: X\n    tickers: [A]\n", 2, "(key)"),
    ("etf_categories:\n  etf_x:\n    display_name: X ETFs\n", 2, "needs at least one of"),
    ("themes:\n  ai:\n    display_name: AI\n  ai:\n    display_name: AI2\n", 4, "duplicate key 'ai'"),
    ("themes:\n  ai: [unclosed\n", 3, "expected ',' or ']'"),
    ("quality:\n  coverage_goal: 1.5\n", 2, "quality.coverage_goal"),
])
def test_bad_file_fails_with_one_line_naming_the_line(tmp_path: Path, text: str, line: int,
                                                      fragment: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(CacheConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"{path} line {line}:"), message
    assert fragment in message


def test_unreadable_file_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(CacheConfigError, match="cannot read cache config"):
        load_config(tmp_path / "missing.yaml")


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(CacheConfigError, match="line 1: the cache config must be a mapping"):
        load_config(_write(tmp_path, "- a\n- b\n"))
