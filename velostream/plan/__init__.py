"""Planning: what a parsed statement means, before any data is read.

Owns name/type binding, validation errors and source/sink discovery. Entry points:
:func:`check` (every finding for a statement, sorted by position), :func:`validate_statement`
(query semantics: functions, grouping, windows, casts), :func:`validate_endpoints` (sources,
sinks and WITH properties) and :func:`describe_statement` (a :class:`StatementInfo` listing the
statement's :class:`Endpoint` s, window, emission, joins and job properties).
"""

from __future__ import annotations

from velostream.errors import SqlValidationError
from velostream.plan.catalog import Endpoint, StatementInfo, describe_statement, validate_endpoints
from velostream.plan.validate import validate_statement


def check(stmt) -> list[SqlValidationError]:
    """Errors and warnings of ``stmt`` from both validators, sorted by line and column."""
    findings = validate_statement(stmt) + validate_endpoints(stmt)
    return sorted(findings, key=lambda f: (f.line, f.column))


__all__ = [
    "Endpoint",
    "StatementInfo",
    "check",
    "describe_statement",
    "validate_endpoints",
    "validate_statement",
]
