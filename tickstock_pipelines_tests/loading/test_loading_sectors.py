"""SIC → sector and industry: the shipped table against the filers of each code, industry names.
Precedence, loading and bad files are in test_loading_sectors_files.py."""

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
