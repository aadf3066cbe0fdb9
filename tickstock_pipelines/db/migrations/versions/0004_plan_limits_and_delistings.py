"""What the real API taught us: how far back the plan reaches, delisting dates, derived market caps.

`plan_limits` remembers, per timespan, the years of history the plan serves (learned from a 403
NOT_AUTHORIZED), so later runs never ask beyond it. `symbols.delisted_date` is the ticker list's
`delisted_utc` for inactive tickers (their bars end at the last session before it).
`symbols.market_cap_session` is the session whose close derived `market_cap` (weighted shares × close);
NULL when the figure is the API's own.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE plan_limits (
            timespan     text PRIMARY KEY,
            years        integer NOT NULL CHECK (years > 0),
            message      text,
            learned_at   timestamptz NOT NULL DEFAULT now()
        );
        ALTER TABLE symbols
            ADD COLUMN delisted_date date,
            ADD COLUMN market_cap_session date;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE symbols DROP COLUMN delisted_date, DROP COLUMN market_cap_session;
        DROP TABLE IF EXISTS plan_limits;
        """
    )
