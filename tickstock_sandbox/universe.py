"""The sandbox's securities, built from the packaged reference data.

S&P 500 constituents and other listed stocks as CS/ADRC, former S&P members (financials rows that
are no longer constituents) as inactive CS, and ~400 real ETPs with their Polygon types. Figures the
reference data does not publish stay absent (market cap, shares outstanding), as on Polygon.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import cache

from tickstock_pipelines.reference import etfs, financials, nasdaq100, other_stocks, sic_for, sp500
from tickstock_pipelines.reference._files import number
from tickstock_sandbox import identifiers as ids
from tickstock_sandbox.profiles import Profile, etf_profile, stock_profile
from tickstock_sandbox.us_states import state_code

# S&P 500 members listed on Nasdaq that are not in the Nasdaq-100 (the rest list on the NYSE).
NASDAQ_LISTED = frozenset(
    "AKAM ALGN CINF CME COIN EBAY ENPH ERIE EVRG EXE EXPE FFIV FITB FOX FOXA GEN HAS HBAN HOLX HOOD INCY "
    "JBHT JKHY LKQ LNT NDAQ NTAP NTRS NWS NWSA PODD POOL PTC SBAC STLD SWKS TECH TER TRMB TSCO TTD ULTA "
    "UAL VRSN VTRS WYNN ZBRA CDW LULU ON BIIB DLTR SMCI CHRW".split())


@dataclass(frozen=True)
class Security:
    ticker: str
    name: str
    type: str
    primary_exchange: str
    profile: Profile
    list_date: date
    active: bool = True
    delisted: date | None = None
    cik: str | None = None
    market_cap: float | None = None
    shares: float | None = None
    sic: tuple[str, str] | None = None
    description: str | None = None
    address: dict | None = field(default=None, compare=False, hash=False)

    @property
    def composite_figi(self) -> str:
        return ids.figi("composite", self.ticker)

    @property
    def share_class_figi(self) -> str:
        return ids.figi("share_class", self.ticker)

    def list_item(self, updated: str) -> dict:
        """An item of GET /v3/reference/tickers (absent keys where Polygon has no value)."""
        item = {
            "ticker": self.ticker, "name": self.name, "market": "stocks", "locale": "us",
            "primary_exchange": self.primary_exchange, "type": self.type, "active": self.active,
            "currency_name": "usd", "cik": self.cik, "composite_figi": self.composite_figi,
            "share_class_figi": self.share_class_figi, "last_updated_utc": updated,
        }
        if self.delisted:
            item["delisted_utc"] = f"{self.delisted.isoformat()}T00:00:00Z"
        return {k: v for k, v in item.items() if v is not None}

    def details(self, base_url: str, updated: str) -> dict:
        """The `results` of GET /v3/reference/tickers/{ticker}."""
        out = self.list_item(updated)
        out.pop("last_updated_utc")
        if self.market_cap is not None:
            out["market_cap"] = self.market_cap
        if self.address:
            out["address"] = self.address
        if self.description:
            out["description"] = self.description
        if self.sic:
            out["sic_code"], out["sic_description"] = self.sic
        out["ticker_root"] = self.ticker.split(".")[0]
        if "." in self.ticker:
            out["ticker_suffix"] = self.ticker.split(".", 1)[1]
        out["list_date"] = self.list_date.isoformat()
        token = ids.digest("brand", self.ticker).hex()[:16]
        out["branding"] = {
            "logo_url": f"{base_url}/v1/reference/company-branding/{token}/images/2026-01-01_logo.svg",
            "icon_url": f"{base_url}/v1/reference/company-branding/{token}/images/2026-01-01_icon.png",
        }
        if self.shares is not None:
            out["share_class_shares_outstanding"] = self.shares
            out["weighted_shares_outstanding"] = self.shares
        out["round_lot"] = 100
        return out


def _weekday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _list_date(ticker: str, earliest: date, latest: date) -> date:
    span = max((latest - earliest).days, 0)
    return _weekday(earliest + timedelta(days=int(span * ids.unit(ticker, "listed"))))


def _shares(market_cap: float | None, price: float | None) -> float | None:
    return round(market_cap / price) if market_cap and price else None


def _stock(ticker: str, name: str, sector: str, sub_industry: str, *, cik: str | None, price: float | None,
           market_cap: float | None, kind: str = "CS", exchange: str | None = None, hq: str = "",
           founded: str = "", added: str = "") -> Security:
    listed_by = date.fromisoformat(added) if added[:4].isdigit() else date(2012, 1, 3)
    born = date(int(founded[:4]), 1, 3) if founded[:4].isdigit() else date(1980, 1, 2)
    earliest = max(date(1972, 1, 3), born)
    hq = re.sub(r"\[\d+\]", "", hq.split(";")[0]).strip()  # "Columbus, Ohio; Detroit, Michigan"
    text = f"{name}: {sub_industry} ({sector or 'former S&P 500 constituent'})"
    text += f", headquartered in {hq.rstrip('.')}." if hq else "."
    if founded[:4].isdigit():
        text += f" Founded in {founded[:4]}."
    city, _, region = hq.rpartition(", ") if hq.endswith("D.C.") else hq.partition(", ")
    code = state_code(region)
    return Security(
        ticker=ticker, name=name, type=kind,
        primary_exchange=exchange or ("XNAS" if ticker in _nasdaq() else "XNYS"),
        profile=stock_profile(ticker, price, market_cap, sector),
        list_date=_list_date(ticker, min(earliest, listed_by), listed_by),
        cik=cik.zfill(10) if cik else None, market_cap=market_cap, shares=_shares(market_cap, price),
        sic=sic_for(sub_industry), description=text,
        address={"city": city.upper(), "state": code} if code else None,
    )


@cache
def _nasdaq() -> frozenset[str]:
    return NASDAQ_LISTED | {m.symbol for m in nasdaq100()}


@cache
def reference_universe() -> dict[str, Security]:
    """Ticker → security, before any run-time change."""
    out: dict[str, Security] = {}
    for c in sp500():
        out[c.symbol] = _stock(c.symbol, c.name, c.gics_sector, c.gics_sub_industry, cik=c.cik,
                               price=c.price, market_cap=c.market_cap, hq=c.headquarters,
                               founded=c.founded, added=c.date_added)
    published = financials()
    for s in other_stocks():
        row = published.get(s.symbol, {})
        price = s.price if s.price is not None else number(row.get("Price"))
        cap = s.market_cap if s.market_cap is not None else number(row.get("Market Cap"))
        out[s.symbol] = _stock(s.symbol, s.name, s.gics_sector, s.gics_sub_industry, cik=s.cik, price=price,
                               market_cap=cap, kind=s.type, exchange=s.primary_exchange)
    for symbol, row in published.items():
        if symbol in out:
            continue
        delisted = _weekday(date(2024, 1, 2) + timedelta(days=int(900 * ids.unit(symbol, "delisted"))))
        former = _stock(symbol, row["Name"], "", row["Sector"], cik=ids.cik(symbol),
                        price=number(row.get("Price")), market_cap=None)
        out[symbol] = replace(former, active=False, delisted=delisted,
                              description=f"{row['Name']}, a former S&P 500 constituent.")
    for e in etfs():
        out[e.ticker] = Security(
            ticker=e.ticker, name=e.name, type=e.type, primary_exchange=e.primary_exchange,
            profile=etf_profile(e.ticker, e.price, e.category),
            list_date=_list_date(e.ticker, date(1998, 1, 2), date(2021, 6, 1)),
            cik=ids.cik(e.ticker), description=f"{e.name}, an exchange-traded product issued by {e.issuer}.",
        )
    out["SPY"] = replace(out["SPY"], list_date=date(1993, 1, 29))
    return dict(sorted(out.items()))


def new_security(ticker: str, *, name: str | None = None, type: str = "CS", price: float = 50.0,
                 market_cap: float | None = None, primary_exchange: str = "XNYS",
                 list_date: date | None = None, sector: str = "Information Technology",
                 sub_industry: str = "Application Software") -> Security:
    """A security added at run time (a test's "new listing")."""
    return Security(
        ticker=ticker, name=name or f"{ticker} Holdings Inc.", type=type, primary_exchange=primary_exchange,
        profile=(stock_profile(ticker, price, market_cap, sector) if type != "ETF"
                 else etf_profile(ticker, price, "broad_market")),
        list_date=list_date or date(2015, 1, 2), cik=ids.cik(ticker), market_cap=market_cap,
        shares=_shares(market_cap, price), sic=sic_for(sub_industry) if type != "ETF" else None,
    )
