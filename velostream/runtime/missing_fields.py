"""The missing-field check: a column the query names that no record of its source has.

Owns telling a typo (``SELECT nosuch …`` is NULL on every row) from a field that is merely NULL
in the first records: one warning at the end of the run with the closest field name, or an error
before any output when the source declares its schema and the field is not in it.
"""

from __future__ import annotations

import difflib
import logging

from velostream.errors import SqlValidationError
from velostream.runtime.fields import referenced_columns

log = logging.getLogger("velostream.job")


class MissingFields:
    """Columns the query names that no record has (a typo: SELECT nosuch … is NULL on every row).

    The first batch proposes the candidates: named columns that are NULL on every row of it and
    that no record of its block has (the source decodes the block again, without projection —
    only when there is a candidate). A declared schema (``'<source>.schema.<field>'``) that does
    not have the field either makes it an error before any output; otherwise later batches strike
    out candidates that turn out to have values, and ``report`` warns once about the rest.
    """

    def __init__(self, query, endpoint, source, others=()):
        self.columns = referenced_columns(query, (endpoint.name, endpoint.alias), others)
        self.endpoint = endpoint
        self.source = source
        self.candidates: dict | None = None     # None: the first batch has not been seen
        self.known: list[str] = []              # field names of the data, for "did you mean"

    def observe(self, batch, source_batch) -> None:
        if self.candidates is not None:
            if self.candidates:
                self._strike(batch)
            return
        self.candidates = {}
        present = {n.lower(): c for n, c in zip(batch.names, batch.columns)}
        empty = [name for name in self.columns
                 if name not in present or present[name].null_count() == batch.length]
        if not empty or not hasattr(self.source, "field_names"):
            return
        self.known = [n for n in self.source.field_names(source_batch) if n]
        known = {n.lower() for n in self.known}
        declared = {k[len("schema."):].lower(): k for k in self.endpoint.properties
                    if k.lower().startswith("schema.")}
        self.candidates = {n: self.columns[n] for n in empty if n not in known | declared.keys()}
        for name, node in self.candidates.items():
            if declared:
                fields = sorted({*(k[len("schema."):] for k in declared.values()), *self.known})
                raise SqlValidationError(
                    f"column '{_spelled(node, name)}' is not a field "
                    f"of source '{self.endpoint.name}': its declared schema "
                    f"('{self.endpoint.name}.schema.*') does not have it and no record does",
                    node.pos.line if node.pos else 0, node.pos.column if node.pos else 0,
                    hint=self._hint(name, fields))

    def _strike(self, batch) -> None:
        present = {n.lower(): c for n, c in zip(batch.names, batch.columns)}
        for name in [n for n in self.candidates if n in present]:
            if present[name].null_count() < batch.length:
                del self.candidates[name]

    @staticmethod
    def _hint(name, fields):
        close = difflib.get_close_matches(name, [f.lower() for f in fields], n=1, cutoff=0.5)
        if close:
            spelled = next(f for f in fields if f.lower() == close[0])
            return f"did you mean '{spelled}'?"
        return f"its fields: {', '.join(fields)}" if fields else None

    def report(self, where, sql_name) -> None:
        for name, node in (self.candidates or {}).items():
            hint = self._hint(name, self.known)
            at = f"{sql_name or '<query>'}:{node.pos.line}:{node.pos.column}" if node.pos else (
                sql_name or "<query>")
            log.warning("%s: column '%s': no record of %s has this field, so it is NULL in every "
                        "row%s", at, _spelled(node, name), where, f"; {hint}" if hint else "")


def _spelled(node, name: str) -> str:
    """``name`` as the query wrote it."""
    return next((p for p in node.parts if p.lower() == name), name)
