"""`theme_review` (quarterly): which configured theme tickers are missing, inactive or delisted, and which
loaded stocks look like candidates (same industry as most of a theme's members, large, not in it).

The report is the materialization's metadata and one `admin_notifications` message; nothing is changed:
editing the themes stays a person's decision (the cache config file).
"""


from collections import Counter
from typing import Any

import pandas as pd
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from tickstock_pipelines.assets.metadata import markdown_table
from tickstock_pipelines.cache.config import CacheConfig, load_config
from tickstock_pipelines.cache.frame import read_symbols
from tickstock_pipelines.notifications import ADMIN_CHANNEL, publish_all, theme_review_message
from tickstock_pipelines.resources.database import DatabaseResource
from tickstock_pipelines.resources.redis import RedisResource

CANDIDATES_PER_THEME = 5


def review_themes(config: CacheConfig, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One row per theme: members present, missing (never loaded), inactive, and candidates."""
    by_symbol = frame.set_index("symbol")
    stocks = frame[(frame["type"] == "CS") & frame["active"] & frame["market_cap"].notna()]
    report = []
    for key, theme in config.themes.items():
        tickers = list(dict.fromkeys(theme.tickers))
        present = [t for t in tickers if t in by_symbol.index]
        inactive = [t for t in present if not bool(by_symbol.at[t, "active"])]
        industries = Counter(by_symbol.at[t, "industry"] for t in present if t not in inactive
                             and by_symbol.at[t, "industry"])
        candidates: list[str] = []
        if industries:
            industry, _ = industries.most_common(1)[0]
            pool = stocks[(stocks["industry"] == industry) & ~stocks["symbol"].isin(tickers)]
            candidates = pool.nlargest(CANDIDATES_PER_THEME, "market_cap")["symbol"].tolist()
        report.append({"theme": theme.display_name, "key": key, "configured": len(tickers),
                       "present": len(present) - len(inactive),
                       "missing": [t for t in tickers if t not in by_symbol.index], "inactive": inactive,
                       "candidates": candidates})
    return report


@asset(
    deps=["themes"],
    group_name="reviews",
    kinds={"postgres", "redis"},
    owners=["team:cache"],
)
def theme_review(context: AssetExecutionContext, database: DatabaseResource,
                 redis: RedisResource) -> MaterializeResult:
    """Quarterly theme review: missing, inactive or delisted theme tickers and candidates to add."""
    report = review_themes(load_config(), read_symbols(database.get_engine()))
    problems = sum(len(r["missing"]) + len(r["inactive"]) for r in report)
    run_id = context.run.run_id
    message = theme_review_message(report, problems, run_id)
    delivered = publish_all(redis, database, [(ADMIN_CHANNEL, message)], run_id=run_id).notified
    context.log.info(f"theme review: {len(report)} themes, {problems} tickers missing or inactive; "
                     f"admin_notifications {'sent' if delivered else 'recorded as missed'}")
    return MaterializeResult(metadata={
        "themes": len(report),
        "tickers_to_review": problems,
        "notified": delivered,
        "report": markdown_table(
            ("theme", "present", "configured", "missing", "inactive", "candidates"),
            [(r["theme"], r["present"], r["configured"], ", ".join(r["missing"]) or "—",
              ", ".join(r["inactive"]) or "—", ", ".join(r["candidates"]) or "—") for r in report],
            limit=100),
        "report_json": MetadataValue.json(report),
    })
