"""SQLite source and sink (``database_source`` / ``database_sink`` with ``url = sqlite:///path.db``).

Owns reading a SQLite table or query as a bounded stream of typed batches, writing result
batches into a table (created from the output schema when missing), and both sides' checkpoint
contract. Only the standard library's ``sqlite3`` is used.

URL: ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` (SQLAlchemy's spelling).

**Source.** ``'<src>.table'`` reads the table ``ORDER BY rowid`` (a WITHOUT ROWID table: by its
primary key); ``'<src>.query'`` runs that query. Rows come ``fetchmany``-ed, transposed into
columns and built into typed columns in one pass (``pyrows.batch_from_columns``): no dict per
row. Column types come from the declared column types (``PRAGMA table_info``; a query's through
a temporary view, so columns that name a table column keep its type), overridden by
``'<src>.schema.<column>'``:

- ``DECIMAL(p,s)`` / ``NUMERIC`` / ``DECIMAL_TEXT(p,s)`` → exact DECIMAL. TEXT values are parsed
  exactly and INTEGER values are their integer value; never through a float. A REAL value (SQLite
  converts decimal text written into a NUMERIC-affinity column to REAL) is read from its shortest
  text, which is as exact as what SQLite kept (15 significant digits).
- ``TIMESTAMP`` / ``DATETIME`` / ``DATE`` → TIMESTAMP: ISO-8601 text, or integers as epoch ms.
- ``BOOLEAN``; ``INT…`` → BIGINT; ``CHAR``/``TEXT``/``CLOB`` → STRING; ``REAL``/``FLOAT``/
  ``DOUBLE`` → DOUBLE; anything else (no type, BLOB) → typed from the values.

A value that does not fit its column's type (text in a non-STRICT INTEGER column) is an error
naming the table, column and row. The position is the number of rows delivered: a restart
resumes a table with ``OFFSET`` and re-runs a query skipping that many rows, so **a query source
must be deterministic** (an ``ORDER BY`` over unique columns) for a restart to resume exactly.

**Sink.** ``'<sink>.table'`` is created when missing, from the first batch's schema: BIGINT →
``BIGINT``, DOUBLE → ``DOUBLE``, STRING → ``TEXT``, BOOLEAN → ``BOOLEAN`` (0/1), TIMESTAMP →
``TIMESTAMP`` (ISO-8601 text, ``2024-01-02T03:04:05.678Z``, which SQLite's date functions read),
DECIMAL → ``DECIMAL_TEXT(p,s)``: the exact decimal text. TEXT, not a scaled INTEGER: a declared
``DECIMAL(p,s)`` has NUMERIC affinity, which turns ``'1.50'`` into the REAL 1.5 (and a 17-digit
value into a rounded one), so the type name must hold ``TEXT`` for SQLite to keep the text; a
scaled integer would keep exactness too, and measured on 500,000 DECIMAL(18,4) values it writes
in 0.39 s instead of 0.46 s into 6.0 MB instead of 9.0 MB, but every other reader of the table
would see 15000 for 1.50 (and SQL over it would have to know the scale): the text is what a person
or tool reading the table expects (compare it in SQL with ``CAST(p AS REAL)``: text sorts as text). The source above reads ``DECIMAL_TEXT(p,s)`` back as DECIMAL(p,s). An existing table is
checked against the output: a missing column, or a type its column cannot hold exactly (text
into an INTEGER column, a DECIMAL into a REAL or NUMERIC one), is a ConfigError naming the table
and column. The sink adds to an existing table's rows: a run without state, or one with
``--reset-state``, writes its rows again after them (drop the table to start over). Rows go in
with ``executemany`` in WAL mode (``synchronous = FULL``: a commit is
durable before the checkpoint that counts on it).

Upsert: with a key — ``'<sink>.primary_key' = 'col1,col2'``, else the select items marked
``PRIMARY KEY``, else the GROUP BY keys of an un-windowed ``EMIT CHANGES`` aggregate
(``plan.physical.output_key``) — rows are ``INSERT … ON CONFLICT(key) DO UPDATE``, so a GROUP BY
… EMIT CHANGES job keeps one current row per group (a table it creates gets that PRIMARY KEY;
an existing one needs a unique index on the key). Otherwise rows are inserted. SQLite never
finds a conflict on a NULL key column, so a group whose key is NULL gets a row per change.

**Exactly once** (a job with ``'state.dir'``): the sink writes in one transaction between
checkpoints. ``commit()`` commits it and returns the table's largest rowid — the committed row
count of a table the job appends to — which the checkpoint stores as the sink's length. A restart
gets it back (``SinkContext.resume_length``) and deletes the rows past it (``rowid > length``:
SQLite gives a new row the largest rowid + 1) before the job continues from the same checkpoint,
so after any number of kills the table holds exactly the rows of an uninterrupted run, in the same
rowid order. An upsert table needs no cut: the restarted job replays the same input from the same
operator state, so it re-applies the same upserts in the same order; a row touched after the
checkpoint is touched again, and each key ends with the value of its last upsert, as in an
uninterrupted run (its length is None). Without ``'state.dir'`` each batch is committed as
written.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import time
from urllib.parse import quote

from velostream.connectors import BATCH_SIZE_KEYS
from velostream.connectors.base import Sink, SinkContext, Source, SourceBatch, SourceContext
from velostream.errors import ConfigError

log = logging.getLogger("velostream.sqlite")

DEFAULT_BATCH_ROWS = 4096
_DECIMAL_RE = re.compile(r"\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)")


def _database_path(endpoint) -> str:
    url = endpoint.setting("url")
    key = f"{endpoint.name}.url"
    if not url:
        raise ConfigError("a database source or sink needs a url: 'sqlite:///path.db'", key=key)
    text = str(url)
    if not text.lower().startswith("sqlite://"):
        raise ConfigError(f"{text!r}: this build connects to SQLite only "
                          "('sqlite:///path.db')", key=key)
    rest = text[len("sqlite://"):]
    if not rest.startswith("/") or len(rest) < 2:
        raise ConfigError(f"{text!r}: write 'sqlite:///relative/path.db' or "
                          "'sqlite:////absolute/path.db'", key=key)
    return rest[1:]


def _quoted(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _type_of(declared: str | None):
    """The engine type of a declared SQLite column type: (name, precision, scale), name None
    when the values decide."""
    text = (declared or "").upper()
    if "BOOL" in text:
        return "BOOLEAN", -1, -1
    if "TIMESTAMP" in text or "DATETIME" in text or text == "DATE":
        return "TIMESTAMP", -1, -1
    if "DEC" in text or "NUMERIC" in text:
        m = _DECIMAL_RE.search(text)
        if m is None:
            return "DECIMAL", -1, -1
        return "DECIMAL", int(m.group(1)), int(m.group(2) or 0)
    if "INT" in text:
        return "BIGINT", -1, -1
    if "CHAR" in text or "CLOB" in text or "TEXT" in text:
        return "STRING", -1, -1
    if "REAL" in text or "FLOA" in text or "DOUB" in text:
        return "DOUBLE", -1, -1
    return None, -1, -1


def _affinity(declared: str | None) -> str:
    """SQLite's column affinity rules (datatype3.html §3.1), in their order."""
    text = (declared or "").upper()
    if "INT" in text:
        return "INTEGER"
    if "CHAR" in text or "CLOB" in text or "TEXT" in text:
        return "TEXT"
    if "BLOB" in text or not text:
        return "BLOB"
    if "REAL" in text or "FLOA" in text or "DOUB" in text:
        return "REAL"
    return "NUMERIC"


# --------------------------------------------------------------------------- the source
class SqliteSource(Source):
    """A SQLite table or query as a bounded stream of typed batches (module docstring)."""

    bounded = True

    def __init__(self, endpoint, context: SourceContext | None = None):
        from velostream.connectors.file import _declared_types, _first_setting

        context = context or SourceContext()
        self.endpoint = endpoint
        self.name = endpoint.name
        self.path = _database_path(endpoint)
        self.table = endpoint.setting("table")
        self.query = endpoint.setting("query")
        if (self.table is None) == (self.query is None):
            raise ConfigError("a database source reads a 'table' or a 'query' (one of them)",
                              key=f"{self.name}.{'query' if self.query else 'table'}")
        if not os.path.isfile(self.path):
            raise ConfigError(f"database file not found: {self.path}", key=f"{self.name}.url")
        self.size = None
        self.batch_size = (_first_setting(endpoint, BATCH_SIZE_KEYS, 1) or context.batch_size
                           or DEFAULT_BATCH_ROWS)
        self._declared = {k.lower(): v for k, v in _declared_types(endpoint).items()}
        self._fields = None if context.fields is None else {f.lower() for f in context.fields}
        self._conn = None
        self._cursor = None
        self._all_names = []
        self._start = 0             # rows to skip on open (a checkpoint's position)
        self._read = 0              # rows delivered
        self._exhausted = False

    @property
    def what(self) -> str:
        return f"table {self.table}" if self.table is not None else "the query"

    # ------------------------------------------------------------------ the contract
    def open(self) -> None:
        if self._cursor is not None:
            return
        self._conn = sqlite3.connect(f"file:{quote(os.path.abspath(self.path))}?mode=ro",
                                     uri=True)
        try:
            columns, sql = self._plan()
            cursor = self._conn.execute(sql, (self._start,) if self.table is not None else ())
            if self.query is not None:
                skip = self._start
                while skip > 0:           # a query is re-run and its first rows skipped
                    got = len(cursor.fetchmany(min(skip, 65536)))
                    if not got:
                        break
                    skip -= got
        except sqlite3.Error as err:
            self.close()
            raise ConfigError(f"{self.path}: cannot read {self.what}: {err}",
                              key=f"{self.name}.{'table' if self.table else 'query'}") from None
        self._columns = columns
        self._cursor = cursor

    def _plan(self):
        """The columns read ``[(name, index in the cursor's rows, engine type)]`` and the SQL."""
        conn = self._conn
        if self.table is not None:
            info = conn.execute(f"PRAGMA table_info({_quoted(self.table)})").fetchall()
            if not info:
                raise sqlite3.OperationalError(f"no such table: {self.table}")
            self._all_names = [row[1] for row in info]
            wanted = [(name, decl) for _, name, decl, *_ in info
                      if self._fields is None or name.lower() in self._fields]
            if not wanted:                    # COUNT(*): the rows, not their values
                wanted = [(info[0][1], info[0][2])]
            try:
                conn.execute(f"SELECT rowid FROM {_quoted(self.table)} LIMIT 0")
                order = "rowid"
            except sqlite3.OperationalError:  # WITHOUT ROWID: its primary key orders it
                keys = sorted((pk, name) for _, name, _, _, _, pk in info if pk)
                order = ", ".join(_quoted(name) for _, name in keys)
            sql = (f"SELECT {', '.join(_quoted(n) for n, _ in wanted)} FROM "
                   f"{_quoted(self.table)} ORDER BY {order} LIMIT -1 OFFSET ?")
            columns = [(name, i, self._type(name, decl)) for i, (name, decl) in enumerate(wanted)]
            return columns, sql
        sql = str(self.query).strip().rstrip(";")
        decls = {}
        try:
            # A view's columns carry the declared types of the table columns they name.
            conn.execute(f"CREATE TEMP VIEW velostream_source AS {sql}")
            decls = {name: decl for _, name, decl, *_ in
                     conn.execute("PRAGMA temp.table_info(velostream_source)").fetchall()}
            conn.execute("DROP VIEW temp.velostream_source")
        except sqlite3.Error:
            pass                       # not a plain SELECT: the values decide
        names = [d[0] for d in conn.execute(sql).description or ()]
        self._all_names = names
        columns = [(name, i, self._type(name, decls.get(name))) for i, name in enumerate(names)
                   if self._fields is None or name.lower() in self._fields]
        if not columns and names:
            columns = [(names[0], 0, self._type(names[0], decls.get(names[0])))]
        return columns, sql

    def field_names(self, source_batch) -> list[str]:
        """Every column of the table or query, whatever the query reads."""
        return list(self._all_names) or list(source_batch.batch.names)

    def _type(self, name, declared):
        text = self._declared.get(name.lower())
        return _type_of(text) if text is not None else _type_of(declared)

    @property
    def exhausted(self) -> bool:
        return self._exhausted

    def position(self) -> int:
        return self._read

    def seek(self, position) -> None:
        self.close()
        self._start = self._read = int(position or 0)
        self._exhausted = False

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = self._cursor = None

    def poll(self, timeout: float = 0.0) -> SourceBatch | None:
        if self._exhausted:
            return None
        self.open()
        rows = self._cursor.fetchmany(self.batch_size)
        if not rows:
            self._exhausted = True
            self.close()
            return None
        first = self._read
        self._read += len(rows)
        batch = self._batch(rows, first)
        return SourceBatch(batch, [], self._read, self.name, self.path, framing="rows")

    # ------------------------------------------------------------------ rows into columns
    def _batch(self, rows, first: int):
        from velostream._core import batch as B
        from velostream._core.pyrows import batch_from_columns

        transposed = list(zip(*rows))
        data, schema = {}, {}
        for name, index, (kind, precision, scale) in self._columns:
            values = transposed[index]
            if kind is None:
                data[name] = values
                continue
            try:
                data[name], schema[name] = _typed(values, kind, precision, scale)
            except (ValueError, TypeError, ArithmeticError) as err:
                raise self._bad(name, err, first) from None
        n = len(rows)
        meta = {"_offset": B.int64_column(list(range(first + 1, first + n + 1))),
                "_partition": B.constant_int64_column(0, n),
                "_timestamp": B.constant_int64_column(int(time.time() * 1000), n,
                                                      timestamp=True)}
        try:
            return batch_from_columns(data, schema, meta)
        except ValueError as err:
            raise self._bad(None, err, first) from None

    def _bad(self, column, err, first):
        text = str(err)
        m = re.search(r"row (\d+)", text)
        if m is not None:
            text = text.replace(m.group(0), f"row {first + int(m.group(1)) + 1}")
        where = f"column {column!r} " if column else ""
        return ConfigError(f"{self.path}: {self.what}: {where}{text}",
                           key=f"{self.name}.{'table' if self.table else 'query'}")


def _typed(values, kind, precision, scale):
    """``values`` (as sqlite3 returns them) as the values of ``kind`` and their declared type."""
    from velostream._core.decimal import ScaledInteger
    from velostream._core.textparse import parse_boolean_text, parse_timestamp_text

    if kind == "DECIMAL":
        out = []
        for i, v in enumerate(values):
            if v is None or type(v) is int:
                out.append(v)
                continue
            try:
                if type(v) is str:
                    out.append(ScaledInteger(v.strip()))
                elif type(v) is float:
                    out.append(ScaledInteger(repr(v)))
                else:
                    raise ValueError("not a number")
            except (ValueError, ArithmeticError):
                raise ValueError(f"row {i}: {v!r} is not a DECIMAL value") from None
        declared = f"DECIMAL({precision},{scale})" if precision > 0 else "DECIMAL"
        return out, declared
    if kind == "TIMESTAMP":
        out = []
        for i, v in enumerate(values):
            if v is None or type(v) is int:
                out.append(v)
            elif type(v) is str:
                try:
                    out.append(parse_timestamp_text(v))
                except ValueError as err:
                    raise ValueError(f"row {i}: {v!r} is not a TIMESTAMP ({err})") from None
            else:
                raise ValueError(f"row {i}: {v!r} is not a TIMESTAMP value")
        return out, "TIMESTAMP"
    if kind == "BOOLEAN":
        out = []
        for i, v in enumerate(values):
            if v is None:
                out.append(None)
            elif type(v) is int and v in (0, 1):
                out.append(v == 1)
            elif type(v) is str and parse_boolean_text(v) is not None:
                out.append(parse_boolean_text(v))
            else:
                raise ValueError(f"row {i}: {v!r} is not a BOOLEAN value")
        return out, "BOOLEAN"
    if kind == "DOUBLE":
        return [float(v) if type(v) is int else v for v in values], "DOUBLE"
    return values, kind


# --------------------------------------------------------------------------- the sink
# The engine types a column of each affinity holds exactly (BLOB: a column without a type).
_HOLDS = {
    "INTEGER": {"BIGINT", "BOOLEAN", "TIMESTAMP"},
    "TEXT": {"STRING", "DECIMAL", "TIMESTAMP", "OBJECT"},
    "REAL": {"DOUBLE", "BIGINT"},
    "NUMERIC": {"BIGINT", "BOOLEAN", "DOUBLE", "TIMESTAMP"},
    "BLOB": {"BIGINT", "BOOLEAN", "DOUBLE", "STRING", "DECIMAL", "TIMESTAMP", "OBJECT"},
}
_CREATED_TYPES = {"BIGINT": "BIGINT", "DOUBLE": "DOUBLE", "STRING": "TEXT",
                  "BOOLEAN": "BOOLEAN", "TIMESTAMP": "TIMESTAMP", "OBJECT": "TEXT", "NULL": ""}


def _created_type(name: str, column) -> str:
    if name == "DECIMAL":
        precision = getattr(column, "precision", 0) or 0
        return f"DECIMAL_TEXT({precision},{column.scale})" if precision else "DECIMAL_TEXT"
    return _CREATED_TYPES.get(name, "")


class SqliteSink(Sink):
    """Writes batches into a SQLite table, inserting or upserting (module docstring)."""

    exactly_once = True

    def __init__(self, endpoint, context: SinkContext | None = None):
        context = context or SinkContext()
        self.endpoint = endpoint
        self.name = endpoint.name
        self.path = _database_path(endpoint)
        self.table = endpoint.setting("table")
        if not self.table:
            raise ConfigError("a database sink needs the table to write", key=f"{self.name}.table")
        self.table = str(self.table)
        given = endpoint.setting("primary_key")
        if given:
            self.key = [k.strip() for k in str(given).split(",") if k.strip()]
        else:
            self.key = list(context.key_columns or [])
        self.checkpointed = context.checkpointed or context.resume_length is not None
        self.records = 0
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        try:
            self.conn = sqlite3.connect(self.path, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.Error as err:
            raise ConfigError(f"cannot open {self.path}: {err}", key=f"{self.name}.url") from None
        self._schema = None              # the batch schema the statement below is for
        self._insert = None
        self._writers = None
        self._in_transaction = False
        info = self._table_info()
        if self.checkpointed and not self.key and info and not self._has_rowid():
            self.checkpoint_refusal = ConfigError(
                f"table {self.table} has no rowid (WITHOUT ROWID), so a restart cannot cut it "
                "back to a checkpoint; give the sink a 'primary_key' (upsert), or run without "
                "'state.dir'", key=f"{self.name}.table")
        if context.resume_length is not None:
            self._cut_back(int(context.resume_length), info)

    # ------------------------------------------------------------------ the table
    def _table_info(self):
        return self.conn.execute(f"PRAGMA table_info({_quoted(self.table)})").fetchall()

    def _has_rowid(self) -> bool:
        try:
            self.conn.execute(f"SELECT rowid FROM {_quoted(self.table)} LIMIT 0")
            return True
        except sqlite3.OperationalError:
            return False

    def _strict(self) -> bool:
        try:
            rows = self.conn.execute(f"PRAGMA table_list({_quoted(self.table)})").fetchall()
        except sqlite3.Error:
            return False               # SQLite before 3.37 has no STRICT tables
        return any(row[1] == self.table and row[5] for row in rows)

    def _length(self) -> int:
        if not self._table_info():
            return 0
        return self.conn.execute(f"SELECT COALESCE(MAX(rowid), 0) FROM "
                                 f"{_quoted(self.table)}").fetchone()[0]

    def _cut_back(self, length: int, info) -> None:
        """The table as a checkpoint committed it: rows past rowid ``length`` go."""
        if self.key:
            return                      # upserts replayed converge (module docstring)
        if not info:
            if length:
                raise ConfigError(f"table {self.table} is missing from {self.path}, but the "
                                  f"job's checkpoint committed {length} rows of it: it was "
                                  "changed outside the job; run with --reset-state to start "
                                  "over", key=f"{self.name}.table")
            return
        found = self._length()
        if found < length:
            raise ConfigError(f"table {self.table} has {found} rows, but the job's checkpoint "
                              f"committed {length}: it was changed outside the job; run with "
                              "--reset-state to start over", key=f"{self.name}.table")
        if found > length:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute(f"DELETE FROM {_quoted(self.table)} WHERE rowid > ?", (length,))
            self.conn.execute("COMMIT")

    def _prepare(self, batch) -> None:
        """Creates the table or checks it against ``batch``'s columns; the statement."""
        names = list(batch.names)
        types = [c.type_name for c in batch.columns]
        info = self._table_info()
        key = f"{self.name}.table"
        lowered = {n.lower(): n for n in names}
        for k in self.key:
            if k.lower() not in lowered:
                raise ConfigError(f"the key column {k!r} of table {self.table} is not an output "
                                  f"column ({', '.join(names)})", key=f"{self.name}.primary_key")
        if not info:
            columns = [f"{_quoted(n)} {_created_type(t, c)}".rstrip()
                       for n, t, c in zip(names, types, batch.columns)]
            if self.key:
                columns.append("PRIMARY KEY (" + ", ".join(
                    _quoted(lowered[k.lower()]) for k in self.key) + ")")
            self.conn.execute(f"CREATE TABLE IF NOT EXISTS {_quoted(self.table)} "
                              f"({', '.join(columns)})")
            info = self._table_info()
        strict = self._strict()
        declared = {row[1].lower(): (row[1], row[2]) for row in info}
        writers = []
        for name, type_name in zip(names, types):
            found = declared.get(name.lower())
            if found is None:
                raise ConfigError(f"table {self.table} has no column {name!r} (its columns: "
                                  f"{', '.join(row[1] for row in info)})", key=key)
            column, decl = found
            affinity = ("BLOB" if decl.upper() == "ANY" else _affinity(decl)) if strict \
                else _affinity(decl)
            if strict and affinity == "NUMERIC":
                affinity = "BLOB"
            if type_name != "NULL" and type_name not in _HOLDS[affinity]:
                raise ConfigError(
                    f"column {column!r} of table {self.table} is {decl or 'untyped'}"
                    f"{' (STRICT)' if strict else ''} and cannot hold the output's {type_name} "
                    f"values exactly{_hint(type_name)}", key=key)
            writers.append(_writer(type_name, affinity))
        quoted = ", ".join(_quoted(declared[n.lower()][0]) for n in names)
        sql = (f"INSERT INTO {_quoted(self.table)} ({quoted}) "
               f"VALUES ({', '.join('?' * len(names))})")
        if self.key:
            keys = {k.lower() for k in self.key}
            conflict = ", ".join(_quoted(declared[k.lower()][0]) for k in self.key)
            rest = [_quoted(declared[n.lower()][0]) for n in names if n.lower() not in keys]
            sql += f" ON CONFLICT ({conflict}) " + (
                "DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in rest) if rest
                else "DO NOTHING")
        self._insert, self._writers = sql, writers
        self._schema = (tuple(names), tuple(types))

    # ------------------------------------------------------------------ writing
    def write(self, batch) -> None:
        if batch is None or batch.length == 0:
            return
        schema = (tuple(batch.names), tuple(c.type_name for c in batch.columns))
        if schema != self._schema:
            self._prepare(batch)
        columns = [write(c) for write, c in zip(self._writers, batch.columns)]
        rows = list(zip(*columns))
        if not self._in_transaction:
            self.conn.execute("BEGIN IMMEDIATE")
            self._in_transaction = True
        try:
            self.conn.executemany(self._insert, rows)
        except sqlite3.IntegrityError as err:
            raise ConfigError(f"table {self.table}: {err}", key=f"{self.name}.table") from None
        except sqlite3.OperationalError as err:
            if "ON CONFLICT" in str(err):
                raise ConfigError(f"table {self.table} has no PRIMARY KEY or UNIQUE index on "
                                  f"({', '.join(self.key)}), which upserts need",
                                  key=f"{self.name}.table") from None
            raise
        self.records += batch.length
        if not self.checkpointed:
            self._commit()

    def _commit(self) -> None:
        if self._in_transaction:
            self.conn.execute("COMMIT")
            self._in_transaction = False

    def flush(self) -> None:
        if not self.checkpointed:
            self._commit()

    def commit(self, final: bool = False) -> int | None:
        """Commits what was written since the last checkpoint (durably); the length the
        checkpoint records: the table's largest rowid, None for an upsert table."""
        self._commit()
        return None if self.key else self._length()

    def close(self) -> None:
        if self.conn is None:
            return
        try:
            if self._in_transaction:
                # With checkpoints, rows past the last one are cut on restart anyway.
                self.conn.execute("ROLLBACK" if self.checkpointed else "COMMIT")
                self._in_transaction = False
        finally:
            self.conn.close()
            self.conn = None


def _hint(type_name: str) -> str:
    if type_name == "DECIMAL":
        return ("; SQLite turns decimal text in a NUMERIC or REAL column into a float: declare "
                "it TEXT or DECIMAL_TEXT(p,s), or CAST the value to DOUBLE")
    if type_name == "STRING":
        return "; declare it TEXT, or CAST the value"
    return "; CAST the value to the column's type"


def _writer(type_name: str, affinity: str):
    """The function turning a column of ``type_name`` into the values sqlite3 binds."""
    if type_name == "DECIMAL":
        return lambda c: [None if v is None else str(v) for v in c.to_pylist()]
    if type_name == "TIMESTAMP":
        if affinity == "INTEGER":
            return _epoch_ms
        return _iso_text
    if type_name == "OBJECT":
        from velostream._core.kernels_py import json_text

        return lambda c: [None if v is None else json_text(v) for v in c.to_pylist()]
    return lambda c: c.to_pylist()


def _epoch_ms(column):
    values, valid = column.data, column.validity
    if valid is None:
        return list(values)
    return [v if ok else None for v, ok in zip(values, valid)]


def _iso_text(column):
    from velostream._core.kernels_py import format_timestamp

    return [None if v is None else format_timestamp(v) for v in _epoch_ms(column)]
