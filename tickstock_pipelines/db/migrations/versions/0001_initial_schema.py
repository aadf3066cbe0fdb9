"""Initial schema: the application's tables plus load requests, splits and missed notifications.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE symbols (
            symbol                      varchar(10) PRIMARY KEY,
            name                        text,
            type                        varchar(10),
            active                      boolean NOT NULL DEFAULT true,
            market                      varchar(20),
            locale                      varchar(10),
            primary_exchange            varchar(20),
            currency_name               varchar(10),
            cik                         varchar(20),
            composite_figi              varchar(20),
            share_class_figi            varchar(20),
            market_cap                  numeric(20, 2),
            weighted_shares_outstanding bigint,
            sic_code                    varchar(8),
            sic_description             text,
            sector                      text,
            industry                    text,
            list_date                   date,
            etf_type                    varchar(10),
            issuer                      text,
            underlying_index            text,
            correlation_reference       varchar(10),
            aum_millions                numeric(20, 2),
            expense_ratio               numeric(8, 4),
            daily_volume_avg            bigint,
            avg_dollar_volume           numeric(24, 2),
            details_updated_at          timestamptz,
            last_updated                timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX ix_symbols_type_active ON symbols (type, active);
        CREATE INDEX ix_symbols_market_cap ON symbols (market_cap DESC NULLS LAST) WHERE active;

        CREATE TABLE ohlcv_daily (
            symbol       varchar(10) NOT NULL,
            date         date NOT NULL,
            open         double precision NOT NULL,
            high         double precision NOT NULL,
            low          double precision NOT NULL,
            close        double precision NOT NULL,
            volume       bigint NOT NULL,
            vwap         double precision,
            transactions integer,
            PRIMARY KEY (symbol, date)
        );
        CREATE INDEX ix_ohlcv_daily_date ON ohlcv_daily (date);

        CREATE TABLE ohlcv_minute (
            symbol       varchar(10) NOT NULL,
            "timestamp"  timestamptz NOT NULL,
            open         double precision NOT NULL,
            high         double precision NOT NULL,
            low          double precision NOT NULL,
            close        double precision NOT NULL,
            volume       bigint NOT NULL,
            vwap         double precision,
            transactions integer,
            PRIMARY KEY (symbol, "timestamp")
        );

        CREATE TABLE cache_entries (
            id          bigserial PRIMARY KEY,
            type        varchar(50) NOT NULL,
            name        varchar(100) NOT NULL,
            key         varchar(100) NOT NULL,
            value       jsonb NOT NULL,
            environment varchar(20) NOT NULL DEFAULT 'DEFAULT',
            created_at  timestamptz NOT NULL DEFAULT now(),
            updated_at  timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT uq_cache_entries_type_name_key_env UNIQUE (type, name, key, environment)
        );
        CREATE INDEX ix_cache_entries_type_env ON cache_entries (type, environment);

        CREATE TABLE load_requests (
            id           bigserial PRIMARY KEY,
            requested_at timestamptz NOT NULL DEFAULT now(),
            source       varchar(20) NOT NULL,
            universe     varchar(100),
            symbols      text[] NOT NULL,
            timespan     varchar(10) NOT NULL CHECK (timespan IN ('day', 'minute')),
            start_date   date NOT NULL,
            priority     varchar(10) NOT NULL DEFAULT 'normal',
            run_id       varchar(64)
        );

        -- The coverage each symbol should have: the earliest start any request asked for.
        CREATE TABLE coverage_targets (
            symbol     varchar(10) NOT NULL,
            timespan   varchar(10) NOT NULL CHECK (timespan IN ('day', 'minute')),
            start_date date NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (symbol, timespan)
        );

        CREATE TABLE splits (
            symbol         varchar(10) NOT NULL,
            execution_date date NOT NULL,
            split_from     double precision NOT NULL,
            split_to       double precision NOT NULL,
            seen_at        timestamptz NOT NULL DEFAULT now(),
            refetched_at   timestamptz,
            PRIMARY KEY (symbol, execution_date)
        );

        CREATE TABLE missed_notifications (
            id         bigserial PRIMARY KEY,
            channel    varchar(50) NOT NULL,
            payload    jsonb NOT NULL,
            error      text NOT NULL,
            run_id     varchar(64),
            created_at timestamptz NOT NULL DEFAULT now(),
            delivered_at timestamptz
        );
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP TABLE IF EXISTS missed_notifications, splits, coverage_targets, load_requests, "
        "cache_entries, ohlcv_minute, ohlcv_daily, symbols"
    )
