"""Loads the YAML property files that ``'<name>.config_file'`` points at.

Owns the rules of those files (DIALECT §7, multi-source-sink guide "YAML Configuration"):
- ``extends: base.yaml`` (or a list of files) is read first; the path is relative to the file that
  names it; the child wins key by key. A cycle is an error naming the files.
- Nested mappings flatten to dotted keys (``bootstrap: {servers: x}`` is ``bootstrap.servers``), so
  a parent's nested form and a child's dotted form override each other. ``key: null`` in a child
  removes the inherited key.
- ``${VAR}`` is replaced by the environment variable (an error naming the key, file and line when
  it is unset), ``${VAR:-default}`` falls back to the default, ``$${`` is a literal ``${``. ``DATE``
  and ``TIME`` (UTC, ``YYYY-MM-DD`` / ``HHMMSS``) are supplied when the environment has no such
  variable. Substitution runs on values after parsing, so a variable's text can never change the
  YAML structure.
- Values become the strings a WITH clause would hold (``true``/``false``, ``1000``); lists stay
  lists of strings.

Every error is a :class:`ConfigError` naming the file, and the key and line when there is one.
"""

from __future__ import annotations

import datetime as _dt
import os
import re

import yaml

from velostream.errors import ConfigError

_VARIABLE = re.compile(r"\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _dynamic(name: str) -> str | None:
    now = _dt.datetime.now(_dt.UTC)
    if name == "DATE":
        return now.strftime("%Y-%m-%d")
    if name == "TIME":
        return now.strftime("%H%M%S")
    return None


def substitute(text: str, environ=None, *, key: str | None = None, filename: str | None = None,
               line: int | None = None) -> str:
    """``text`` with ``${VAR}`` / ``${VAR:-default}`` replaced from ``environ`` (default os.environ)."""
    env = os.environ if environ is None else environ

    def replace(match):
        escaped, name, default = match.groups()
        if escaped:
            return match.group(0)[1:]
        value = env.get(name)
        if value is not None:
            return value
        if default is not None:
            return default
        value = _dynamic(name)
        if value is None:
            raise ConfigError(f"environment variable {name} is not set (write ${{{name}:-default}} "
                              "for a fallback)", key=key, filename=filename, line=line)
        return value

    return _VARIABLE.sub(replace, text)


class _LinedDict(dict):
    """A mapping that remembers the line each key was written on."""

    def __init__(self):
        super().__init__()
        self.lines = {}


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader, node):
    data = _LinedDict()
    yield data
    loader.flatten_mapping(node)  # resolves '<<: *anchor' merge keys
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, (list, dict)):
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain value", key_node.start_mark)
        data[key] = loader.construct_object(value_node, deep=True)
        data.lines[key] = key_node.start_mark.line + 1


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    return str(value)


def _flatten(mapping: _LinedDict, prefix: str, out: dict, lines: dict) -> None:
    for key, value in mapping.items():
        name = f"{prefix}{_scalar(key)}"
        line = mapping.lines.get(key)
        if isinstance(value, dict):
            _flatten(value, name + ".", out, lines)
            continue
        out[name] = value
        lines[name] = line


def _read(path: str) -> tuple[dict, dict]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=_Loader)  # a SafeLoader: plain data only
    except FileNotFoundError:
        raise ConfigError("config file not found", filename=path) from None
    except OSError as err:
        raise ConfigError(f"cannot read config file: {err.strerror}", filename=path) from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"not UTF-8 text ({err.reason} at byte {err.start})",
                          filename=path) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(f"invalid YAML: {problem}", filename=path,
                          line=mark.line + 1 if mark else None) from None
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ConfigError(f"must be a mapping of keys to values, not a {type(data).__name__}",
                          filename=path)
    flat, lines = {}, {}
    _flatten(data, "", flat, lines)
    return flat, lines


def _convert(value, environ, key, filename, line):
    if value is None:
        return None
    if isinstance(value, list):
        return [_convert(v, environ, key, filename, line) for v in value]
    if isinstance(value, str):
        return substitute(value, environ, key=key, filename=filename, line=line)
    return _scalar(value)


def load_properties(path: str, environ=None, *, _chain: tuple[str, ...] = ()) -> dict:
    """The flattened, substituted properties of the YAML file at ``path`` and what it extends."""
    real = os.path.realpath(path)
    if real in _chain:
        cycle = " → ".join([*_chain[_chain.index(real):], real])
        raise ConfigError(f"'extends' forms a cycle: {cycle}", key="extends", filename=path)
    flat, lines = _read(path)
    result: dict = {}
    parents = flat.pop("extends", None)
    if parents is not None:
        parents = parents if isinstance(parents, list) else [parents]
        base_dir = os.path.dirname(path)
        for parent in parents:
            if not isinstance(parent, str) or not parent.strip():
                raise ConfigError("must name a YAML file (or a list of them)", key="extends",
                                  filename=path, line=lines.get("extends"))
            parent = substitute(parent, environ, key="extends", filename=path,
                                line=lines.get("extends"))
            parent_path = os.path.join(base_dir, os.path.expanduser(parent))
            if not os.path.isfile(parent_path):
                raise ConfigError(f"extends {parent!r}, which is not a file ({parent_path})",
                                  key="extends", filename=path, line=lines.get("extends"))
            result.update(load_properties(parent_path, environ, _chain=(*_chain, real)))
    for key, value in flat.items():
        converted = _convert(value, environ, key, path, lines.get(key))
        if converted is None:
            result.pop(key, None)
        else:
            result[key] = converted
    return result
