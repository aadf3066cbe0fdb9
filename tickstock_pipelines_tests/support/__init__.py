"""Fixtures and helpers shared by the test areas. Modules with fixtures are plugins (the root conftest's
`pytest_plugins`); the rest are imported where they are used."""
