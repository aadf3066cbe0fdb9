"""Issuer, underlying index and correlation reference of an ETF/ETP, from documented rules on its name.

Polygon publishes none of the three, so `config/etf_rules.yaml` derives them from the fund's name (first
matching rule wins) with per-ticker overrides for facts a name does not carry. A user's file (`--etf-rules`,
run config `etf_rules_path`, or TICKSTOCK_ETF_RULES) is laid over it by the shared loader (`config_file`):
lists of rules replace, overrides merge by ticker, `null` removes one. AUM and expense ratio are
deliberately absent: they are never derived, only taken from an API figure.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Annotated, Literal

import yaml
from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from tickstock_pipelines.config_file import ConfigFile, ConfigFileError, StrictModel, not_a_boolean
from tickstock_pipelines.loading.requests import TICKER_PATTERN

ENV_VAR = "TICKSTOCK_ETF_RULES"
_SHIPPED = "etf_rules.yaml"
_REFERENCE = re.compile(r"\\(?:(\d+)|g<(\w+)>)")


class EtfRulesError(ConfigFileError):
    """A rules file that cannot be used; the message is one line and names the file and line."""


@dataclass(frozen=True)
class EtfAttributes:
    issuer: str | None
    underlying_index: str | None
    correlation_reference: str | None


_NOTHING = EtfAttributes(None, None, None)


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None


def _check_template(template: str, pattern: re.Pattern[str] | None) -> None:
    """A template may only use \\N and \\g<name>, and only groups its pattern has."""
    if "\\" in _REFERENCE.sub("", template):
        raise ValueError(f"{template!r}: only \\1 or \\g<name> may follow a backslash")
    for number, name in _REFERENCE.findall(template):
        groups = pattern.groups if pattern is not None else 0
        names = pattern.groupindex if pattern is not None else {}
        if (number and not 0 < int(number) <= groups) or (name and name not in names):
            raise ValueError(f"{template!r} refers to a group its pattern does not have")


def _expand(template: str, match: re.Match[str]) -> str:
    """The template with groups filled in (an unmatched group is empty), whitespace collapsed."""
    text = _REFERENCE.sub(lambda ref: match.group(int(ref[1]) if ref[1] else ref[2]) or "", template)
    return " ".join(text.split())


def _valid_pattern(value: str) -> str:
    _compile(value)
    return value


def _ticker(value: str) -> str:
    if not TICKER_PATTERN.match(value):
        raise ValueError(f"{value!r} is not a ticker: 1-10 characters of A-Z, 0-9 and '.'")
    return value


Ticker = Annotated[str, BeforeValidator(not_a_boolean), AfterValidator(_ticker)]
Text = Annotated[str, Field(min_length=1, max_length=200)]


class _IssuerRule(StrictModel):
    pattern: str
    issuer: Text

    _pattern = field_validator("pattern")(_valid_pattern)


class _IndexRule(StrictModel):
    pattern: str
    index: Text

    @model_validator(mode="after")
    def _valid(self) -> _IndexRule:
        _check_template(self.index, _compile(self.pattern))
        return self


class _CorrelationRule(StrictModel):
    name: str | None = None
    index: str | None = None
    reference: str | None = Field(max_length=40)  # required; null means "no benchmark fits"

    @model_validator(mode="after")
    def _valid(self) -> _CorrelationRule:
        if self.name is None and self.index is None:
            raise ValueError("a correlation rule needs a name or an index pattern")
        patterns = [_compile(p) for p in (self.name, self.index) if p is not None]
        if self.reference is not None:
            if _REFERENCE.search(self.reference):
                for pattern in patterns:
                    _check_template(self.reference, pattern)
            elif not TICKER_PATTERN.match(self.reference):
                raise ValueError(f"reference {self.reference!r} is not a ticker")
        return self


class _Correlation(StrictModel):
    default: Ticker | None = None
    rules: list[_CorrelationRule] = Field(default_factory=list)


class _Override(StrictModel):
    issuer: Text | None = None
    underlying_index: Text | None = None
    correlation_reference: Ticker | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> _Override:
        if not self.model_fields_set:
            raise ValueError(
                "an override needs at least one of issuer, underlying_index, correlation_reference")
        return self


class _RulesFile(StrictModel):
    version: Literal[1]
    issuers: list[_IssuerRule] = Field(default_factory=list)
    underlying_indexes: list[_IndexRule] = Field(default_factory=list)
    correlation: _Correlation = _Correlation()
    overrides: dict[Ticker, _Override] = Field(default_factory=dict)


@dataclass(frozen=True)
class _Reference:
    name: re.Pattern[str] | None
    index: re.Pattern[str] | None
    reference: str | None


class EtfRules:
    """Compiled rules: `attributes()` for the loader, `from_name()` to check the name rules on their own."""

    def __init__(self, issuers: Sequence[tuple[str, str]], indexes: Sequence[tuple[str, str]],
                 references: Sequence[tuple[str | None, str | None, str | None]],
                 default_reference: str | None, overrides: Mapping[str, Mapping[str, str | None]]):
        self._issuers = [(re.compile(p), issuer) for p, issuer in issuers]
        self._indexes = [(re.compile(p), index) for p, index in indexes]
        self._references = [
            _Reference(re.compile(n) if n else None, re.compile(i) if i else None, ref)
            for n, i, ref in references
        ]
        self._default = default_reference
        self._overrides = {ticker.upper(): dict(fields) for ticker, fields in overrides.items()}

    def issuer(self, name: str) -> str | None:
        return next((issuer for pattern, issuer in self._issuers if pattern.search(name)), None)

    def underlying_index(self, name: str) -> str | None:
        for pattern, template in self._indexes:
            match = pattern.search(name)
            if match and (index := _expand(template, match)):
                return index
        return None

    def correlation_reference(self, name: str | None, underlying_index: str | None) -> str | None:
        """First rule whose name or index pattern matches; the default (US equity) when none does, and
        None when there is neither a name nor an index to go on."""
        if not name and not underlying_index:
            return None
        for rule in self._references:
            match = (rule.name.search(name) if rule.name and name else None) or (
                rule.index.search(underlying_index) if rule.index and underlying_index else None)
            if match is None:
                continue
            if rule.reference is None:
                return None
            reference = _expand(rule.reference, match)
            if TICKER_PATTERN.match(reference):
                return reference
        return self._default

    def from_name(self, name: str | None) -> EtfAttributes:
        """What the name rules alone say (no overrides)."""
        name = " ".join(name.split()) if name else ""
        if not name:
            return _NOTHING
        index = self.underlying_index(name)
        return EtfAttributes(self.issuer(name), index, self.correlation_reference(name, index))

    def attributes(self, ticker: str, name: str | None) -> EtfAttributes:
        """Name rules, then the ticker's overrides; an overridden index also steers the correlation rule."""
        found = self.from_name(name)
        override = self._overrides.get((ticker or "").strip().upper())
        if not override:
            return found
        found = replace(found, **override)
        if "underlying_index" in override and "correlation_reference" not in override:
            clean = " ".join(name.split()) if name else None
            reference = self.correlation_reference(clean, found.underlying_index)
            found = replace(found, correlation_reference=reference)
        return found


def _check_override_keys(root: yaml.Node, source: str) -> None:
    """An unquoted ON or YES key is a boolean to YAML; pydantic's error could not point at its line."""
    if not isinstance(root, yaml.MappingNode):
        return
    for key, value in root.value:
        if key.value == "overrides" and isinstance(value, yaml.MappingNode):
            for ticker, _ in value.value:
                if ticker.tag == "tag:yaml.org,2002:bool":
                    raise EtfRulesError(
                        f"{source} line {ticker.start_mark.line + 1}: overrides: YAML reads "
                        f"{ticker.value} as a boolean: quote the ticker, e.g. '{ticker.value}'")


ETF_RULES_FILE: ConfigFile[_RulesFile] = ConfigFile(
    _RulesFile, "tickstock_pipelines.config", _SHIPPED, ENV_VAR, "ETF rules", EtfRulesError,
    check=_check_override_keys)


def _compiled_rules(rules: _RulesFile) -> EtfRules:
    return EtfRules(
        issuers=[(r.pattern, r.issuer) for r in rules.issuers],
        indexes=[(r.pattern, r.index) for r in rules.underlying_indexes],
        references=[(r.name, r.index, r.reference) for r in rules.correlation.rules],
        default_reference=rules.correlation.default,
        overrides={
            ticker: {field: getattr(o, field) for field in o.model_fields_set}
            for ticker, o in rules.overrides.items()
        },
    )


@cache
def _shipped() -> EtfRules:
    return _compiled_rules(ETF_RULES_FILE.load())


def load_etf_rules(path: str | os.PathLike[str] | None = None) -> EtfRules:
    """The shipped rules overlaid by the user's file (`path`, else TICKSTOCK_ETF_RULES), validated; the
    shipped rules alone are read once per process, a user's file on every call."""
    if ETF_RULES_FILE.user_path(path) is None:
        return _shipped()
    return _compiled_rules(ETF_RULES_FILE.load(path))
