"""Every area's shared fixtures: real services (embedded PostgreSQL and Redis, an isolated environment),
the Polygon sandbox and the rest of `support/`, loaded once for the whole suite."""

pytest_plugins = [
    "tickstock_pipelines_tests.support.services",
    "tickstock_pipelines_tests.support.market_data_runs",
    "tickstock_pipelines_tests.support.sandbox_fixtures",
]
