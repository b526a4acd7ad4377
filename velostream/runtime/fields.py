"""Which source fields a query reads: for projection push-down and for the missing-field check.

Owns the mapping from the columns a query names to the fields of its source (``o.col`` is field
``col`` of source ``o``; ``s.field`` on a nested value reads the field ``s``; pseudo-columns such
as ``_offset`` and output aliases are not fields).
"""

from __future__ import annotations

from velostream.grammar import ast as A


def _qualifier_set(qualifiers) -> set[str]:
    return {q.lower() for q in qualifiers if q}


def _field_path(node: A.Column, qualifiers: set[str]) -> tuple[str, ...]:
    """A column's parts without the source's qualifier (o.col: the source's field col)."""
    parts = node.parts
    return parts[1:] if len(parts) > 1 and parts[0].lower() in qualifiers else parts


def needed_fields(query: A.Select, qualifiers=(), others=()):
    """Source fields the query reads (for projection push-down), or None when it needs all.
    ``others``: the qualifiers of the query's other sources (a join): their columns and
    ``x.*`` are not this source's; an unqualified column may be any source's, so each reads it."""
    qualifiers = _qualifier_set(qualifiers)
    others = _qualifier_set(others) - qualifiers
    aliases = {item.alias.lower() for item in query.items
               if isinstance(item, A.SelectItem) and item.alias}
    # ORDER BY notional sorts on the output column of that alias, not on a field.
    sorted_on_outputs = {id(entry.expr) for entry in query.order_by
                         if isinstance(entry.expr, A.Column) and len(entry.expr.parts) == 1
                         and entry.expr.parts[0].lower() in aliases}
    names = set()
    for node in query.walk():
        if isinstance(node, A.Star):
            if node.qualifier and node.qualifier[-1].lower() in others:
                continue
            return None
        if id(node) in sorted_on_outputs:
            continue
        if isinstance(node, A.Column) and len(node.parts) > 1 and (
                node.parts[0].lower() in others):
            continue
        if isinstance(node, A.Column) and not node.parts[-1].startswith("_"):
            parts = _field_path(node, qualifiers)
            names.add(parts[0])            # s.field on a nested value reads the field s
            names.add(parts[-1])
    return sorted(names)


def referenced_columns(query: A.Select, qualifiers=(), others=()) -> dict:
    """Source fields the query names (lower-cased) → the first Column node naming each; output
    aliases (ORDER BY notional) and pseudo-columns (_offset) are not fields. With ``others``
    (the qualifiers of a join's other sources) only columns qualified with this source count:
    an unqualified one may be another source's."""
    qualifiers = _qualifier_set(qualifiers)
    others = _qualifier_set(others) - qualifiers
    aliases = {item.alias.lower() for item in query.items
               if isinstance(item, A.SelectItem) and item.alias}
    found = {}
    for node in query.walk():
        if isinstance(node, A.Column):
            if others and not (len(node.parts) > 1 and node.parts[0].lower() in qualifiers):
                continue
            name = _field_path(node, qualifiers)[0]
            if not name.startswith("_") and name.lower() not in aliases:
                found.setdefault(name.lower(), node)
    return found
