"""One loader for every YAML config file: the cache definitions, the SIC sector map and the ETF rules.

Each file ships in the package. A user's file (a CLI option, a run-config path, or the file's environment
variable) is laid over it: mappings merge, lists replace, `null` removes an entry. The result is validated
by a strict model before anything is read or written, and a bad file fails with one line naming the file
and the line at fault (the user's file when the fault is there, else the shipped one).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError


class ConfigFileError(ValueError):
    """A config file that cannot be used; the message is one line and names the file and line."""


class StrictModel(BaseModel):
    """Unknown keys are refused (a misspelt key must not be ignored) and loaded values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def not_a_boolean(value: Any) -> Any:
    """YAML 1.1 reads ON, OFF, YES and NO as booleans: a ticker such as ON must be quoted."""
    if isinstance(value, bool):
        raise ValueError("YAML reads ON/OFF/YES/NO as booleans: quote this ticker, e.g. 'ON'")
    return value


def valid_regex(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
    return pattern


M = TypeVar("M", bound=BaseModel)
Check = Callable[[yaml.Node, str], None]


@dataclass(frozen=True)
class ConfigFile(Generic[M]):
    """A shipped YAML file, its model, and how a user overrides it."""

    model: type[M]
    package: str  # where the shipped file lives, e.g. "tickstock_pipelines.config"
    shipped: str  # its file name
    env_var: str  # names a user file when no path is given
    what: str  # "cache config", "sector map", "ETF rules": for messages
    error: type[ConfigFileError] = ConfigFileError
    check: Check | None = None  # problems only the raw YAML shows (an octal 0100, an unquoted ON key)
    prepare: Callable[[Any], Any] | None = None  # normalise a document before the merge (SIC codes → int)

    def user_path(self, path: str | os.PathLike[str] | None = None) -> str | None:
        """The user's file: the given path, else the environment variable, else none."""
        chosen = path or os.environ.get(self.env_var) or None
        return None if chosen is None else str(Path(chosen).expanduser())

    def shipped_text(self) -> str:
        return resources.files(self.package).joinpath(self.shipped).read_text(encoding="utf-8")

    def load(self, path: str | os.PathLike[str] | None = None) -> M:
        """The shipped file, overlaid by the user's file when there is one; validated."""
        source = f"(shipped) {self.shipped}"
        shipped_data, shipped_node = self._document(self.shipped_text(), source)
        data, user_node, user_source = shipped_data, None, source
        if (user := self.user_path(path)) is not None:
            user_data, user_node = self._document(_read(user, self.what, self.error), user)
            data, user_source = merge(shipped_data, user_data), user
        try:
            return self.model.model_validate(data)
        except ValidationError as exc:
            raise self.error(_explain(exc, user_node, user_source, shipped_node, source)) from None

    def _document(self, text: str, source: str) -> tuple[Any, yaml.Node]:
        data, node = parse(text, source, self.error)
        if node is None:
            raise self.error(f"{source}: the file is empty")
        if not isinstance(data, dict):
            raise self.error(f"{source} line 1: the {self.what} must be a mapping")
        if self.check is not None:
            self.check(node, source)
        return (self.prepare(data) if self.prepare else data), node


def _read(path: str, what: str, error: type[ConfigFileError]) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise error(f"{path}: cannot read {what}: {exc.strerror or exc}") from None


def parse(text: str, source: str, error: type[ConfigFileError] = ConfigFileError,
          ) -> tuple[Any, yaml.Node | None]:
    """Data and node tree of one YAML document; syntax errors and duplicate keys name their line."""
    try:
        loader = yaml.SafeLoader(text)  # rejects control characters (NUL …) before any line is read
    except yaml.YAMLError as exc:
        raise error(f"{source}: {' '.join(str(exc).split())}") from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _reject_duplicate_keys(node, source, error)
        return loader.construct_document(node), node
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f" line {mark.line + 1}" if mark else ""
        raise error(f"{source}{line}: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise error(f"{source}: {' '.join(str(exc).split())}") from None
    finally:
        loader.dispose()


def _reject_duplicate_keys(node: yaml.Node, source: str, error: type[ConfigFileError]) -> None:
    """Plain YAML keeps the last duplicate silently; a duplicated theme or code is almost always a mistake."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in seen:
                        raise error(f"{source} line {key.start_mark.line + 1}: duplicate key {key.value!r}")
                    seen.add(key.value)
                stack.append(value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)


def merge(base: Any, override: Any) -> Any:
    """Mappings merge key by key, `null` removes a key, anything else (lists too) replaces."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = merge(base.get(key), value)
        return out
    return override


def locate(node: yaml.Node | None, loc: tuple[Any, ...]) -> tuple[int, int] | None:
    """(1-based line, steps matched) of the deepest node on pydantic's error path."""
    if node is None:
        return None
    best, depth = node.start_mark.line + 1, 0
    for i, step in enumerate(loc):
        if step == "[key]":
            break
        child: yaml.Node | None = None
        line: int | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(step):
                    # A bad dict key's path ends in "[key]": point at the key, not its value. A whole
                    # mapping or list at fault is named by its key's line, where a reader looks first.
                    child = key if loc[i + 1 : i + 2] == ("[key]",) else value
                    line = key.start_mark.line if isinstance(child, yaml.CollectionNode) else None
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            child = node.value[step]
        if child is None:
            break
        node, depth = child, depth + 1
        best = (child.start_mark.line if line is None else line) + 1
    return best, depth


def path_text(loc: tuple[Any, ...]) -> str:
    text = ""
    for step in loc:
        if step == "[key]":
            text += " (key)"
        elif isinstance(step, int):
            text += f"[{step}]"
        else:
            name = str(step) if str(step).isprintable() else repr(step)  # a key of "\r" stays one line
            text += f".{name}" if text else name
    return text


def _explain(exc: ValidationError, user_node: yaml.Node | None, user_source: str,
             shipped_node: yaml.Node | None, shipped_source: str) -> str:
    """`<file> line N: <path>: <message> (+k more)`, in the file that holds the offending part."""
    error = exc.errors()[0]
    loc = tuple(error["loc"])
    where, source = locate(user_node, loc), user_source
    if where is None or where[1] == 0:
        # Nothing on the path in the user's file: the offending part came from the shipped file.
        shipped_where = locate(shipped_node, loc)
        if user_node is None or (shipped_where and shipped_where[1] > 0):
            where, source = shipped_where, shipped_source
    line = f" line {where[0]}" if where else ""
    path = f" {path_text(loc)}:" if loc else ""
    message = str(error["msg"]).removeprefix("Value error, ")
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{source}{line}:{path} {message}{more}"
