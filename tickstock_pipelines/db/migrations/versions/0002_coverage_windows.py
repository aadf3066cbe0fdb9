"""Coverage windows: which sessions each symbol's bars were already requested for, and when.

The loader asks the API only for sessions outside [loaded_start, loaded_end], so a session on which a
symbol did not trade (halt, IPO later than the window) is not asked for again on every run.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE coverage_targets
            ADD COLUMN loaded_start date,
            ADD COLUMN loaded_end   date,
            ADD COLUMN fetched_at   timestamptz;
        CREATE INDEX ix_load_requests_universe ON load_requests (universe) WHERE universe IS NOT NULL;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX IF EXISTS ix_load_requests_universe;
        ALTER TABLE coverage_targets DROP COLUMN loaded_start, DROP COLUMN loaded_end, DROP COLUMN fetched_at;
        """
    )
