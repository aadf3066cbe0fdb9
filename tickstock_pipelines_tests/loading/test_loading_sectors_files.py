"""SIC → sector tables as files: precedence of exact codes, ranges and descriptions, caching, bad files
named by line, the classified share."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickstock_pipelines.loading.sectors import (
    SECTORS,
    UNKNOWN,
    Classification,
    SectorMap,
    SectorMapError,
    classified_share,
    load_sector_map,
)

# --- precedence -----------------------------------------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sectors.yaml"
    path.write_text(text)
    return path


PRECEDENCE = """\
version: 1
exact:
  3674: {sector: Technology, industry: Chips}
  '0150': Energy
ranges:
  - {start: 3000, end: 3999, sector: Industrials}
  - {start: 3600, end: 3699, sector: Consumer Discretionary}
  - {start: 3650, end: 3680, sector: Healthcare}
  - {start: 3670, end: 3700, sector: Utilities}
  - {start: 3675, end: 3676, sector: Energy}
  - {start: 3675, end: 3676, sector: Real Estate}
  - {start: 3674, end: 3675, sector: Materials}
  - {start: 100, end: 199, sector: Consumer Staples}
"""


@pytest.mark.parametrize(("code", "sector", "why"), [
    ("3674", "Technology", "exact beats every range"),
    ("3100", "Industrials", "only the division range"),
    ("3601", "Consumer Discretionary", "3600-3699 is narrower than 3000-3999"),
    ("3655", "Healthcare", "3650-3680 (31 codes) beats 3600-3699 (100)"),
    ("3672", "Healthcare", "3650-3680 and 3670-3700 tie at 31 codes: the lower start wins"),
    ("3675", "Materials", "three 2-code ranges tie: lowest start 3674 wins"),
    ("3676", "Energy", "3675-3676 twice: the earlier entry wins"),
    ("3690", "Utilities", "3670-3700 (31) beats 3600-3699 (100)"),
    ("3700", "Utilities", "3700 is only in 3670-3700 and 3000-3999"),
    ("0150", "Energy", "an exact code written as a string keeps its leading zero"),
    ("150", "Energy", "same code without the zero"),
    ("0151", "Consumer Staples", "range"),
])
def test_precedence(tmp_path: Path, code: str, sector: str, why: str) -> None:
    table = load_sector_map(_write(tmp_path, PRECEDENCE))
    assert table.classify(code, "X").sector == sector, why


def test_exact_industry_wins_over_description(tmp_path: Path) -> None:
    table = load_sector_map(_write(tmp_path, PRECEDENCE))
    assert table.classify("3674", "SEMICONDUCTORS & RELATED DEVICES") == Classification("Technology", "Chips")
    assert table.classify("0150", "CROPS") == Classification("Energy", "Crops")
    assert table.classify("3675", None) == Classification("Materials", None)


@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60), st.sampled_from(SECTORS)), max_size=12),
       st.integers(0, 60))
def test_precedence_matches_a_brute_force_reading(ranges: list[tuple[int, int, str]], code: int) -> None:
    ranges = [(min(a, b), max(a, b), sector) for a, b, sector in ranges]
    table = SectorMap({}, ranges)
    containing = [(end - start, start, i, sector) for i, (start, end, sector) in enumerate(ranges)
                  if start <= code <= end]
    expected = min(containing)[3] if containing else UNKNOWN
    assert table.classify(str(code), None).sector == expected


# --- loading and bad files ------------------------------------------------------------------------


def test_shipped_table_is_cached_and_user_files_are_not(tmp_path: Path) -> None:
    assert load_sector_map() is load_sector_map()
    path = _write(tmp_path, "version: 1\nranges:\n  - {start: 1, end: 2, sector: Energy}\n")
    first = load_sector_map(path)
    assert first.classify("1", None).sector == "Energy"
    path.write_text("version: 1\nexact:\n  1: Utilities\n")
    assert load_sector_map(str(path)).classify("1", None).sector == "Utilities"


@pytest.mark.parametrize(("text", "line", "message"), [
    ("version: 1\nexact:\n  7372: Technology\n  3674: Tech\n", 4,
     "exact[3674].sector: unknown sector 'Tech'"),
    ("version: 1\nexact:\n  3674: {sector: Healthcare, industry: ''}\n", 3, "exact[3674].industry"),
    ("version: 1\nexact:\n  73X2: Technology\n", 3, "a SIC code is a number from 0 to 9999, not '73X2'"),
    ("version: 1\nexact:\n  12345: Technology\n", 3, "a SIC code is a number"),
    ("version: 1\nranges:\n  - {start: 100, end: 199, sector: Energy}\n"
     "  - {start: 300, end: 200, sector: Energy}\n", 4, "ranges[1]: start 300 is after end 200"),
    ("version: 1\nranges:\n  - start: 100\n    end: abc\n    sector: Energy\n", 4, "ranges[0].end"),
    ("version: 1\nranges:\n  - {start: 100, end: 199, sector: Basic Materials}\n", 3,
     "unknown sector 'Basic Materials'"),
    ("version: 1\nranges:\n  - {start: 100, end: 199}\n", 3, "ranges[0].sector: Field required"),
    ("version: 1\nranges:\n  - {start: 100, end: 199, sector: Energy, industry: Oil}\n", 3,
     "ranges[0].industry"),
    ("version: 1\nexact:\n  0100: Energy\n", 3, "write 0100 as '0100' or 100"),
    ("version: 1\nexact:\n  100: Energy\n  '0100': Utilities\n", 4, "SIC code 100 is listed twice"),
    ("version: 1\nexact:\n  100: Energy\n  100: Utilities\n", 4, "duplicate key '100'"),
    ("version: 2\nexact: {}\n", 1, "version"),
    ("version: 1\nsectors: [Technology]\n", 2, "sectors: Extra inputs are not permitted"),
    ("version: 1\nexact:\n  100: [Energy\n", 4, ""),
    ("- 1\n- 2\n", 1, ""),
])
def test_bad_files_name_their_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(SectorMapError) as info:
        load_sector_map(path)
    error = str(info.value)
    assert error.startswith(f"{path} line {line}:"), error
    assert message in error
    assert len(error.splitlines()) == 1


@pytest.mark.parametrize("text", ["", "# only a comment\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    with pytest.raises(SectorMapError, match="the file is empty"):
        load_sector_map(_write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SectorMapError, match=r"nope\.yaml: cannot read"):
        load_sector_map(tmp_path / "nope.yaml")


# --- share ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("sectors", "share"), [
    ([], 0.0),
    (["Technology"], 1.0),
    ([UNKNOWN], 0.0),
    (["Technology", UNKNOWN, "Energy", UNKNOWN], 0.5),
    (["Energy", "Energy", "Energy", UNKNOWN], 0.75),
])
def test_classified_share(sectors: list[str], share: float) -> None:
    assert classified_share(Classification(s, None) for s in sectors) == share
