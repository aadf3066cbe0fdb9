"""One loader for every YAML config file: each is laid over its shipped file the same way (mappings merge,
lists replace, `null` removes an entry), named by a path or an environment variable, and refused in one
line naming the user's file and line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tickstock_pipelines.cache import config as cache_config
from tickstock_pipelines.config_file import ConfigFileError
from tickstock_pipelines.loading import etf_rules, sectors

# (loader, environment variable, an overlay, what the overlay changes, what it removes, what it keeps)
CASES: dict[str, tuple[Callable[[Any], Any], str, str, Callable[[Any], Any]]] = {
    "cache config": (
        cache_config.load_config, cache_config.ENV_VAR,
        "themes:\n  space: null\n  mine: {display_name: Mine, tickers: [AAPL]}\n",
        lambda c: ("mine" in c.themes, "space" in c.themes, "ai" in c.themes)),
    "sector map": (
        sectors.load_sector_map, sectors.ENV_VAR,
        "exact:\n  6324: null\n  '7370': {sector: Communication Services, filers: search and social media}\n",
        lambda m: (m.classify("7370", None).sector == "Communication Services",
                   m.classify("6324", None).sector == "Healthcare",  # removed: its range says Financial
                   m.classify("6798", None).sector == "Real Estate")),
    "ETF rules": (
        etf_rules.load_etf_rules, etf_rules.ENV_VAR,
        "overrides:\n  AMLP: null\n  ZZZZ: {issuer: Mine}\n",
        lambda r: (r.attributes("ZZZZ", None).issuer == "Mine",
                   r.attributes("AMLP", "Alerian MLP ETF").issuer == "ALPS",
                   r.attributes("JEPQ", "JPMorgan Nasdaq Equity Premium Income ETF").underlying_index
                   == "Nasdaq-100")),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_a_user_file_is_laid_over_the_shipped_one(tmp_path: Path, kind: str) -> None:
    load, _, overlay, facts = CASES[kind]
    assert facts(load(None)) == (False, True, True)
    path = tmp_path / "mine.yaml"
    path.write_text(overlay)
    assert facts(load(path)) == (True, False, True)  # added or changed, removed by null, the rest kept


@pytest.mark.parametrize("kind", list(CASES))
def test_the_environment_variable_names_the_user_file(tmp_path: Path, kind: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    load, env_var, overlay, facts = CASES[kind]
    path = tmp_path / "mine.yaml"
    path.write_text(overlay)
    monkeypatch.setenv(env_var, str(path))
    assert facts(load(None)) == (True, False, True)


@pytest.mark.parametrize("kind", list(CASES))
@pytest.mark.parametrize(("text", "line", "fragment"), [
    ("version: 1\nnot_a_key: 1\n", 2, "not_a_key: Extra inputs are not permitted"),
    ("version: 1\nversion: 1\n", 2, "duplicate key 'version'"),
    ("[1, 2]\n", 1, "must be a mapping"),
    ("", None, "the file is empty"),
])
def test_bad_user_files_name_the_file_and_line(tmp_path: Path, kind: str, text: str, line: int | None,
                                               fragment: str) -> None:
    load = CASES[kind][0]
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    with pytest.raises(ConfigFileError) as info:
        load(path)
    message = str(info.value)
    assert message.startswith(f"{path} line {line}:" if line else f"{path}:"), message
    assert fragment in message and "\n" not in message
