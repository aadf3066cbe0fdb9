"""Sectors take the TickStock application's eleven names, and codes the SIC map no longer moves follow it.

`Consumer Cyclical`, `Consumer Defensive` and `Basic Materials` become `Consumer Discretionary`,
`Consumer Staples` and `Materials`. The shipped SIC map stopped moving 7370, 7373, 7389,
4400, 3990, 5399 and 6795 (moved for single index members, or without one kind of filer); rows the old
map put there get what the new map gives, so a database built before needs nothing but this migration.
The next replace rebuild writes the new `top_10_<sector>` keys and deletes the old ones; the cache
itself is not edited here (its notifications must say what changed).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_RENAMES = (("Consumer Cyclical", "Consumer Discretionary"), ("Consumer Defensive", "Consumer Staples"),
            ("Basic Materials", "Materials"))
# (SIC code, what the old shipped map said (renamed), what the new one says)
_REMAPPED = (
    ("7370", "Communication Services", "Technology"), ("7373", "Healthcare", "Technology"),
    ("7389", "Financial Services", "Industrials"), ("4400", "Consumer Discretionary", "Industrials"),
    ("3990", "Industrials", "Consumer Discretionary"), ("5399", "Consumer Staples", "Consumer Discretionary"),
    ("6795", "Materials", "Financial Services"),
)


_RENAME = sa.text("UPDATE symbols SET sector = :new WHERE sector = :old")
_REMAP = sa.text("UPDATE symbols SET sector = :new WHERE sic_code = :code AND sector = :old")


def upgrade() -> None:
    for old, new in _RENAMES:
        op.execute(_RENAME.bindparams(old=old, new=new))
    for code, old, new in _REMAPPED:
        op.execute(_REMAP.bindparams(code=code, old=old, new=new))


def downgrade() -> None:
    for code, old, new in _REMAPPED:
        op.execute(_REMAP.bindparams(code=code, old=new, new=old))
    for old, new in _RENAMES:
        op.execute(_RENAME.bindparams(old=new, new=old))
