"""SIC → sector and industry: the shipped table against the filers of each code, precedence, bad files."""

from __future__ import annotations

from collections import Counter
from importlib import resources
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tickstock_pipelines import reference
from tickstock_pipelines.loading.sectors import (
    SECTORS,
    UNKNOWN,
    Classification,
    SectorMap,
    SectorMapError,
    classified_share,
    industry_from_description,
    load_sector_map,
)

# GICS sector names → the TickStock application's names: three differ.
GICS_TO_SECTOR = {
    "Information Technology": "Technology", "Health Care": "Healthcare", "Financials": "Financial Services",
    "Consumer Discretionary": "Consumer Discretionary", "Consumer Staples": "Consumer Staples",
    "Materials": "Materials", "Industrials": "Industrials", "Energy": "Energy", "Utilities": "Utilities",
    "Real Estate": "Real Estate", "Communication Services": "Communication Services",
}

# Why each shipped exact code exists, written down apart from the map: the kind of company that files
# under the code, with examples of real filers and their GICS sector. An override stands only when the
# filers as a whole (not one index member) sit in its sector.
FILERS: dict[int, dict[str, str]] = {
    3011: {"GT": "Consumer Discretionary", "CTB": "Consumer Discretionary"},         # tire makers
    3021: {"NKE": "Consumer Discretionary", "CROX": "Consumer Discretionary",
           "DECK": "Consumer Discretionary"},                                         # footwear brands
    3533: {"BKR": "Energy", "NOV": "Energy", "DRQ": "Energy", "WHD": "Energy"},       # oilfield equipment
    3559: {"LRCX": "Information Technology", "ACLS": "Information Technology",
           "VECO": "Information Technology", "UCTT": "Information Technology"},  # semiconductor equipment
    3826: {"TMO": "Health Care", "WAT": "Health Care", "BRKR": "Health Care", "ILMN": "Health Care"},
    4700: {"BKNG": "Consumer Discretionary", "EXPE": "Consumer Discretionary",
           "MMYT": "Consumer Discretionary"},                                         # online travel
    4922: {"KMI": "Energy", "WMB": "Energy", "BWP": "Energy"},                        # gas pipelines
    5045: {"SNX": "Information Technology", "SCSC": "Information Technology",
           "NSIT": "Information Technology"},                                         # computer distributors
    5047: {"HSIC": "Health Care", "PDCO": "Health Care", "OMI": "Health Care"},       # medical distributors
    5065: {"ARW": "Information Technology", "AVT": "Information Technology"},  # electronics distributors
    # split: discount stores selling mostly consumables against closeout retailers; the bulk decides
    5331: {"WMT": "Consumer Staples", "TGT": "Consumer Staples", "DG": "Consumer Staples",
           "DLTR": "Consumer Staples", "FIVE": "Consumer Discretionary", "OLLI": "Consumer Discretionary",
           "BIG": "Consumer Discretionary"},
    5912: {"WBA": "Consumer Staples", "RAD": "Consumer Staples", "CVS": "Health Care"},  # drug stores
    6324: {"UNH": "Health Care", "ELV": "Health Care", "HUM": "Health Care", "CNC": "Health Care"},
    6792: {"PBT": "Energy", "SBR": "Energy", "SJT": "Energy"},                        # royalty trusts
    6798: {"O": "Real Estate", "PLD": "Real Estate", "SPG": "Real Estate", "AMT": "Real Estate"},
    8731: {"IQV": "Health Care", "CRL": "Health Care", "MEDP": "Health Care"},        # CROs, research
}

# Codes that were once moved because of one index member or one kind of filer among many: their range
# decides. (code, the sector the range gives, why)
NOT_EXACT = [
    (7373, "Technology", "systems integrators and IT contractors; one health-IT filer is not the code"),
    (7370, "Technology", "software, data processing and IT services are the bulk; search/social are fewer"),
    (7389, "Industrials", "business services NEC is a catch-all; payment processors are only part of it"),
    (4400, "Industrials", "freight carriers outnumber cruise lines"),
]


@pytest.fixture(scope="module")
def shipped() -> SectorMap:
    return load_sector_map()


def _shipped_exact() -> dict[int, dict]:
    text = resources.files("tickstock_pipelines").joinpath("config", "sic_sectors.yaml").read_text()
    return {int(code): entry for code, entry in (yaml.safe_load(text)["exact"] or {}).items()}


def _without_exact(code: int) -> str:
    """What the shipped ranges alone give a code."""
    text = resources.files("tickstock_pipelines").joinpath("config", "sic_sectors.yaml").read_text()
    ranges = yaml.safe_load(text)["ranges"]
    table = SectorMap({}, [(r["start"], r["end"], r["sector"]) for r in ranges])
    return table.classify(str(code), None).sector


# --- the shipped table ----------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "description", "sector", "industry"), [
    ("7372", "SERVICES-PREPACKAGED SOFTWARE", "Technology", "Services-Prepackaged Software"),
    ("3674", "SEMICONDUCTORS & RELATED DEVICES", "Technology", "Semiconductors & Related Devices"),
    ("3571", "ELECTRONIC COMPUTERS", "Technology", "Electronic Computers"),
    ("2834", "PHARMACEUTICAL PREPARATIONS", "Healthcare", "Pharmaceutical Preparations"),
    ("2836", "BIOLOGICAL PRODUCTS, (NO DIAGNOSTIC SUBSTANCES)", "Healthcare",
     "Biological Products, (No Diagnostic Substances)"),
    ("6324", "HOSPITAL & MEDICAL SERVICE PLANS", "Healthcare", "Hospital & Medical Service Plans"),
    ("6021", "NATIONAL COMMERCIAL BANKS", "Financial Services", "National Commercial Banks"),
    ("6770", "BLANK CHECKS", "Financial Services", "Blank Checks"),
    ("6798", "REAL ESTATE INVESTMENT TRUSTS", "Real Estate", "Real Estate Investment Trusts"),
    ("6531", "REAL ESTATE AGENTS & MANAGERS (FOR OTHERS)", "Real Estate",
     "Real Estate Agents & Managers (For Others)"),
    ("5331", "RETAIL-VARIETY STORES", "Consumer Staples", "Retail-Variety Stores"),
    ("5311", "RETAIL-DEPARTMENT STORES", "Consumer Discretionary", "Retail-Department Stores"),
    ("5411", "RETAIL-GROCERY STORES", "Consumer Staples", "Retail-Grocery Stores"),
    ("3711", "MOTOR VEHICLES & PASSENGER CAR BODIES", "Consumer Discretionary",
     "Motor Vehicles & Passenger Car Bodies"),
    ("3721", "AIRCRAFT", "Industrials", "Aircraft"),
    ("1311", "CRUDE PETROLEUM & NATURAL GAS", "Energy", "Crude Petroleum & Natural Gas"),
    ("1381", "DRILLING OIL & GAS WELLS", "Energy", "Drilling Oil & Gas Wells"),
    ("4922", "NATURAL GAS TRANSMISSION", "Energy", "Natural Gas Transmission"),
    ("4923", "NATURAL GAS TRANSMISISON & DISTRIBUTION", "Utilities",
     "Natural Gas Transmisison & Distribution"),
    ("4911", "ELECTRIC SERVICES", "Utilities", "Electric Services"),
    ("4953", "REFUSE SYSTEMS", "Industrials", "Refuse Systems"),
    ("1040", "GOLD AND SILVER ORES", "Materials", "Gold and Silver Ores"),
    ("3411", "METAL CANS", "Materials", "Metal Cans"),
    ("7370", "SERVICES-COMPUTER PROGRAMMING, DATA PROCESSING, ETC.", "Technology",
     "Services-Computer Programming, Data Processing, Etc."),
    ("7373", "SERVICES-COMPUTER INTEGRATED SYSTEMS DESIGN", "Technology",
     "Services-Computer Integrated Systems Design"),
    ("4813", "TELEPHONE COMMUNICATIONS (NO RADIOTELEPHONE)", "Communication Services",
     "Telephone Communications (No Radiotelephone)"),
    ("0100", "AGRICULTURAL PRODUCTION-CROPS", "Consumer Staples", "Agricultural Production-Crops"),
    ("100", None, "Consumer Staples", None),
    ("3826", "LABORATORY ANALYTICAL INSTRUMENTS", "Healthcare", "Laboratory Analytical Instruments"),
    ("3825", None, "Technology", None),
    (" 2834 ", "", "Healthcare", None),
])
def test_shipped_table(shipped: SectorMap, code: str, description: str | None, sector: str,
                       industry: str | None) -> None:
    assert shipped.classify(code, description) == Classification(sector, industry)


@pytest.mark.parametrize(("code", "description"), [
    (None, None), ("", None), ("   ", "X"), ("abc", "SOMETHING"), ("12345", None), ("-100", None),
    ("3.5", None), ("9721", "INTERNATIONAL AFFAIRS"), ("9995", "NON-OPERATING ESTABLISHMENTS"),
    ("0050", None), ("1900", None),
])
def test_unmapped_codes_are_unknown(shipped: SectorMap, code: str | None, description: str | None) -> None:
    found = shipped.classify(code, description)
    assert found.sector == UNKNOWN
    assert found.industry == industry_from_description(description)


def test_shipped_table_uses_exactly_tickstocks_eleven_sectors(shipped: SectorMap) -> None:
    assert set(SECTORS) == {
        "Technology", "Healthcare", "Financial Services", "Consumer Discretionary", "Consumer Staples",
        "Energy", "Industrials", "Materials", "Utilities", "Real Estate", "Communication Services",
    }
    assert len(SECTORS) == 11
    used = {shipped.classify(str(code), None).sector for code in range(10_000)}
    assert used == {*SECTORS, UNKNOWN}


def test_holes_are_only_where_the_sec_defines_no_codes(shipped: SectorMap) -> None:
    unknown = [code for code in range(100, 9000) if shipped.classify(str(code), None).sector == UNKNOWN]
    assert unknown == [*range(1800, 2000), *range(6800, 7000)]
    outside = (*range(100), *range(9000, 10_000))
    assert all(shipped.classify(str(code), None).sector == UNKNOWN for code in outside)


def test_every_exact_code_names_its_filers_and_changes_something() -> None:
    for code, entry in _shipped_exact().items():
        assert isinstance(entry, dict) and len(entry.get("filers") or "") >= 20, f"{code}: say who files here"
        assert entry["sector"] != _without_exact(code), f"{code}: its range already gives {entry['sector']}"


def test_exact_codes_are_those_whose_filers_sit_in_the_sector() -> None:
    """Each override is backed by several real filers, and the bulk of them are in its sector."""
    exact = _shipped_exact()
    assert set(exact) == set(FILERS)
    for code, filers in FILERS.items():
        assert len(filers) >= 2, f"{code}: one company never justifies an exact code"
        votes = Counter(GICS_TO_SECTOR[sector] for sector in filers.values())
        (bulk, n), *rest = votes.most_common()
        assert n > len(filers) / 2 and exact[code]["sector"] == bulk, (code, votes)
        if rest:
            assert "split" in exact[code]["filers"], f"{code}: a split code says it is split"


@pytest.mark.parametrize(("code", "sector", "why"), NOT_EXACT)
def test_codes_moved_for_one_company_follow_their_range(shipped: SectorMap, code: int, sector: str,
                                                        why: str) -> None:
    assert code not in _shipped_exact(), why
    assert shipped.classify(str(code), None).sector == sector, why


def sp500_agreement(table: SectorMap) -> tuple[int, int]:
    """(agreeing, total): S&P 500 members whose SIC code (by sub-industry) maps to their GICS sector."""
    agree = total = 0
    for company in reference.sp500():
        code, description = reference.sic_for(company.gics_sub_industry) or (None, None)
        total += 1
        agree += table.classify(code, description).sector == GICS_TO_SECTOR[company.gics_sector]
    return agree, total


def test_readme_states_the_measured_sp500_agreement(shipped: SectorMap) -> None:
    """A measured figure, not a goal: the README says what the map gives today."""
    agree, total = sp500_agreement(shipped)
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert f"{agree} of {total} S&P 500 members ({agree / total:.1%})" in readme


# --- industry names -------------------------------------------------------------------------------


@pytest.mark.parametrize(("description", "industry"), [
    ("SERVICES-PREPACKAGED SOFTWARE", "Services-Prepackaged Software"),
    ("GAMES, TOYS & CHILDREN'S VEHICLES (NO DOLLS & BICYCLES)",
     "Games, Toys & Children's Vehicles (No Dolls & Bicycles)"),
    ("WHOLESALE-DRUGS PROPRIETARIES & DRUGGISTS' SUNDRIES",
     "Wholesale-Drugs Proprietaries & Druggists' Sundries"),
    ("RETAIL-RADIO, TV & CONSUMER ELECTRONICS STORES", "Retail-Radio, TV & Consumer Electronics Stores"),
    ("SERVICES-MISC HEALTH & ALLIED SERVICES, NEC", "Services-Misc Health & Allied Services, NEC"),
    ("GOLD AND SILVER ORES", "Gold and Silver Ores"),
    ("INSTRUMENTS FOR MEAS & TESTING OF ELECTRICITY & ELEC SIGNALS",
     "Instruments for Meas & Testing of Electricity & Elec Signals"),
    ("NEWSPAPERS: PUBLISHING OR PUBLISHING & PRINTING", "Newspapers: Publishing or Publishing & Printing"),
    ("REAL ESTATE AGENTS & MANAGERS (FOR OTHERS)", "Real Estate Agents & Managers (For Others)"),
    ("services-prepackaged software", "Services-Prepackaged Software"),
    ("  OIL   ROYALTY TRADERS ", "Oil Royalty Traders"),
    ("Services-Prepackaged Software", "Services-Prepackaged Software"),
    ("", None),
    ("  ", None),
    (None, None),
])
def test_industry_from_description(description: str | None, industry: str | None) -> None:
    assert industry_from_description(description) == industry


@given(st.one_of(st.none(), st.text(max_size=12)), st.one_of(st.none(), st.text(max_size=60)))
def test_classify_never_fails(code: str | None, description: str | None) -> None:
    found = load_sector_map().classify(code, description)
    assert found.sector in (*SECTORS, UNKNOWN)
    assert found.industry is None or found.industry.strip()


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
