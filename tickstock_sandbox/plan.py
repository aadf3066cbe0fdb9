"""The real API's plan limits: a plan reaches back a whole number of years, and asking for older bars
answers 403 NOT_AUTHORIZED with Polygon's own body (not an error to retry: the plan's edge)."""

from __future__ import annotations

from datetime import date
from typing import Any

TIMEFRAME_MESSAGE = ("Your plan doesn't include this data timeframe. Please upgrade your plan at "
                     "https://polygon.io/pricing")

END_OF_DAY_MESSAGE = ("Attempted to request today's data before end of day. Please upgrade your plan at "
                      "https://polygon.io/pricing")


def years_before(day: date, years: int) -> date:
    """The same calendar day `years` earlier (29 February becomes the 28th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def horizon(today: date, years: int | None) -> date | None:
    """The oldest date the plan serves, None when it has no limit."""
    return years_before(today, years) if years is not None else None


def not_authorized(request_id: str, message: str = TIMEFRAME_MESSAGE) -> tuple[int, dict[str, Any]]:
    return 403, {"status": "NOT_AUTHORIZED", "request_id": request_id, "message": message}
