"""The nine cache-entry families as asset specs: what the UI shows for each."""

from __future__ import annotations

from dagster import AssetKey, AssetSpec, AutomationCondition

GROUP = "cache_entries"
OWNERS = ["team:cache"]
UPSTREAM = AssetKey("etf_metadata")

DESCRIPTIONS: dict[str, str] = {
    "market_cap": "`stock_universe|market_cap|{bucket}`: mega, large, mid, small and micro cap common stocks "
                  "(type CS; lower bound inclusive: $200B, $10B, $2B, $300M).",
    "sector_leaders": "`stock_universe|sector_leaders|top_10_{sector}`: the ten largest common stocks of "
                      "each sector present (never Unknown).",
    "market_leaders": "`stock_universe|market_leaders`: top 10, 50, 100, 250 and 500 common stocks by market "
                      "cap.",
    "themes": "Themes (AI, Biotech, EV, …) from the cache config, written as `themes|{Display}|list` and "
              "`stock_universe|themes|{key}`.",
    "industry": "`stock_universe|industry|{group}`: industry groups (banks, insurance, software, retail, …) "
                "of common stocks matched on SIC codes and industry names.",
    "etf_universes": "`etf_universe|{Category ETFs}|{key}`: ETF categories as ticker arrays plus "
                     "`{key}_detailed` objects, ordered by AUM then dollar volume.",
    "complete": "Complete universes: top 1000 common stocks and top 100 ETFs with full objects; `all_stocks` "
                "(every active common stock), `all_etfs` and `all_etps` as ticker arrays.",
    "stats": "`stock_stats|universe|summary`: totals, market cap, sectors and exchanges for the overview.",
    "combo": "`stock_etf_combo|stock_etf_test`: `combo_test` (the top 50 common stocks, then the essential "
             "ETFs that are loaded) and `combo_test_detailed` (the same with stock and ETF objects).",
}

FAMILY_SPECS: list[AssetSpec] = [
    AssetSpec(
        key=family, deps=[UPSTREAM], group_name=GROUP, kinds={"postgres"}, owners=OWNERS,
        description=description,
        # once after etf_metadata changes, never while it (or a backfill feeding it) is in progress
        automation_condition=AutomationCondition.eager(),
    )
    for family, description in DESCRIPTIONS.items()
]
