"""Application (.sql job) files: the configuration carried in their comments.

Owns reading the ``-- SQL Application: name`` header, ``-- @key: value`` annotations, global
``-- CONFIG: key = value`` lines and the per-job directives (``-- JOB:``, ``-- TOPIC:``,
``-- FORMAT:`` …) that precede each statement, and attaching them to the statements of the file
(DIALECT.md §8, spec/operations-guide.md "Configuration Options").

Entry point: :func:`parse_application`. Statements are parsed with
:func:`velostream.grammar.parse_sql` (a syntax error is raised). Problems with the comment
configuration are collected, never raised: a malformed directive is an error naming its line and
column, an unknown or misplaced one a warning; both render with a caret through
:meth:`velostream.errors.SqlError.format`.

Priority (highest first): command line > job directive > global ``CONFIG`` > server default.
:meth:`JobDefinition.setting` implements the middle two; callers apply the command line on top.
"""

from __future__ import annotations

import bisect
import difflib
import re
from dataclasses import dataclass, field

from velostream.errors import SqlError, SqlSyntaxError, SqlValidationError
from velostream.grammar import ast, parse_sql, parse_window
from velostream.plan.settings import (
    DIRECTIVES,
    JOB,
    endpoint_setting,
    job_setting,
    parse_boolean,
)

__all__ = [
    "FORMATS",
    "KNOWN_DIRECTIVES",
    "LOG_LEVELS",
    "Application",
    "Directive",
    "JobDefinition",
    "parse_application",
]

#: Every directive name an application file may use (upper-case, as written in the file).
KNOWN_DIRECTIVES = (
    "CONFIG", "JOB", "TOPIC", "FORMAT", "SCHEMA", "PROTO", "GROUP", "PARTITION", "OFFSET_RESET",
    "MEMORY_LIMIT", "TIMEOUT", "BATCH_SIZE", "BUFFER_SIZE", "WINDOW", "OUTPUT_TOPIC",
    "OUTPUT_FORMAT", "OUTPUT_PARTITION_KEY", "ENABLE_METRICS", "LOG_LEVEL",
)
# The values of the directives that set an enumerated setting are the settings table's.
FORMATS = endpoint_setting("value.format", "kafka").choices
OFFSET_RESETS = endpoint_setting("auto.offset.reset", "kafka").choices
LOG_LEVELS = job_setting("log_level").choices



def _minimum(name: str) -> int:
    """The smallest value of the setting a numeric directive sets (plan.settings.DIRECTIVES)."""
    directive = DIRECTIVES[name]
    row = job_setting(directive.key) if directive.target == JOB else endpoint_setting(
        directive.key, "kafka")
    return row.minimum


# Integer directives: name -> (smallest allowed value, what the number means).
_INTEGERS = {name: (_minimum(name), meaning) for name, meaning in (
    ("MEMORY_LIMIT", "megabytes, e.g. 1024"),
    ("BATCH_SIZE", "records, e.g. 500"),
    ("BUFFER_SIZE", "records, e.g. 10000"),
    ("TIMEOUT", "milliseconds, e.g. 30000"),
    ("PARTITION", "a partition number, e.g. 0"),
)}
_CHOICES = {
    "FORMAT": FORMATS,
    "OUTPUT_FORMAT": FORMATS,
    "OFFSET_RESET": OFFSET_RESETS,
    "LOG_LEVEL": LOG_LEVELS,
}
_NO_SPACES = ("JOB", "TOPIC", "OUTPUT_TOPIC")

# Statements that are jobs (the rest — STOP JOB, SHOW, DESCRIBE — are commands).
_JOB_STATEMENTS = (ast.Select, ast.CreateStream, ast.CreateTable, ast.StartJob)

# Patterns applied to the text after "--" of a full-line comment.
_HEADER = re.compile(r"\s*SQL\s+Application\s*:\s*(?P<value>.*)$", re.IGNORECASE)
_ANNOTATION = re.compile(r"\s*@(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)(?:\s*:\s*|\s+|$)(?P<value>.*)$")
_DIRECTIVE = re.compile(r"\s*(?P<key>[A-Z][A-Z_]*)\s*:\s*(?P<value>.*)$")
_MIXED_CASE = re.compile(r"\s*(?P<key>[A-Za-z][A-Za-z_]*)\s*:")
_CONFIG_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


@dataclass(frozen=True)
class Directive:
    """One configuration comment.

    ``key`` is the upper-case directive name (``"TOPIC"``); for ``CONFIG`` it is the configuration
    key lower-cased (``"timeout_ms"``), for an annotation its name lower-cased without the ``@``.
    ``value`` has a trailing ``-- comment`` and surrounding quotes removed; FORMAT, OUTPUT_FORMAT
    and OFFSET_RESET are lower-cased, LOG_LEVEL upper-cased, ENABLE_METRICS is ``"true"`` or
    ``"false"``. ``line`` and ``column`` (1-based) locate the first character of the value.
    """

    key: str
    value: str
    line: int
    column: int


@dataclass
class JobDefinition:
    """A statement of the file that runs as a job, with the directives written before it."""

    name: str
    line: int
    statement: object
    directives: dict[str, Directive] = field(default_factory=dict)
    window: object | None = None
    #: The file's global ``-- CONFIG:`` settings (shared by every job of the file).
    config: dict[str, Directive] = field(default_factory=dict)

    def configuration(self) -> dict[str, Directive]:
        """What binding applies (``plan.bind.bind_statement(directives=)``): the file's CONFIG
        globals under their lower-case keys and this job's directives under their upper-case
        names."""
        return {**self.config, **self.directives}

    def setting(self, key: str, app: Application | None = None) -> str | None:
        """The effective value of ``key``: this job's directive, else the file's global CONFIG.

        Keys are matched case-insensitively by name only (``TIMEOUT`` and ``timeout_ms`` are
        different keys). Command-line overrides are the caller's to apply on top.
        """
        directive = self.directives.get(key.upper())
        if directive is not None:
            return directive.value
        if app is not None:
            directive = app.config.get(key.lower())
            if directive is not None:
                return directive.value
        return None


@dataclass
class Application:
    """An application file: its header, annotations, global CONFIG, jobs and diagnostics."""

    filename: str
    name: str | None = None
    annotations: dict[str, Directive] = field(default_factory=dict)
    config: dict[str, Directive] = field(default_factory=dict)
    jobs: list[JobDefinition] = field(default_factory=list)
    warnings: list[SqlError] = field(default_factory=list)
    errors: list[SqlError] = field(default_factory=list)
    #: Every annotation in file order (``annotations`` keeps only the last of each key).
    annotation_list: list[Directive] = field(default_factory=list)

    def job(self, name: str) -> JobDefinition | None:
        """The job called ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        for job in self.jobs:
            if job.name.lower() == wanted:
                return job
        return None


# --------------------------------------------------------------------------------------------
# Finding the comments


@dataclass(frozen=True)
class _Comment:
    line: int
    column: int   # 1-based column of the first character after "--"
    body: str     # the text after "--" up to the end of the line


def _full_line_comments(text: str) -> list[_Comment]:
    """``--`` comments with only whitespace before them on their line.

    Scans like the lexer does, so ``--`` inside a string literal, a quoted identifier or a
    ``/* … */`` block is not a comment.
    """
    comments: list[_Comment] = []
    i, n, line, line_start = 0, len(text), 1, 0
    while i < n:
        char = text[i]
        if char == "\n":
            line += 1
            line_start = i + 1
            i += 1
        elif char in "'\"`":
            j = i + 1
            while j < n:
                if text[j] == char:
                    if j + 1 < n and text[j + 1] == char:  # a doubled quote stands for itself
                        j += 2
                        continue
                    break
                if text[j] == "\n":
                    line += 1
                    line_start = j + 1
                j += 1
            i = j + 1
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            close = n if close < 0 else close + 2
            for j in range(i, close):
                if text[j] == "\n":
                    line += 1
                    line_start = j + 1
            i = close
        elif text.startswith("--", i) or char == "#":
            end = text.find("\n", i)
            end = n if end < 0 else end
            if char == "-" and not text[line_start:i].strip():
                body = text[i + 2:end].rstrip("\r")
                comments.append(_Comment(line, i - line_start + 3, body))
            i = end
        else:
            i += 1
    return comments


# --------------------------------------------------------------------------------------------
# Values


def _split_value(raw: str) -> tuple[str, str | None]:
    """Cut a trailing ``-- comment`` off a directive value (quote-aware); rstrip the rest.

    Returns ``(value, problem)``; ``problem`` names an unterminated quote.
    """
    quote = None
    for i, char in enumerate(raw):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"" and (i == 0 or raw[i - 1].isspace() or raw[i - 1] == "="):
            quote = char
        elif raw.startswith("--", i) and (i == 0 or raw[i - 1].isspace()):
            return raw[:i].rstrip(), None
    if quote:
        return raw.rstrip(), f"missing closing {quote}"
    return raw.rstrip(), None


def _unquote(value: str) -> tuple[str, int, bool]:
    """Remove one pair of surrounding quotes: (text, offset of text in value, was quoted)."""
    if len(value) >= 2 and value[0] in "'\"" and value[-1] == value[0]:
        return value[1:-1], 1, True
    return value, 0, False


def _suggest(word: str, choices) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {match[0]}? " if match else ""


# --------------------------------------------------------------------------------------------
# The parser


class _Reader:
    def __init__(self, text: str, filename: str):
        self.text = text
        self.filename = filename
        self.app = Application(filename=filename)
        self.windows: dict[int, ast.Window] = {}   # parsed WINDOW directives by line

    # -- diagnostics

    def error(self, message: str, line: int, column: int, hint: str | None = None) -> None:
        self.app.errors.append(SqlValidationError(
            message, line, column, source=self.text, filename=self.filename, hint=hint))

    def warn(self, message: str, line: int, column: int, hint: str | None = None) -> None:
        self.app.warnings.append(SqlValidationError(
            message, line, column, source=self.text, filename=self.filename, severity="warning",
            hint=hint))

    # -- one directive

    def directive(self, key: str, comment: _Comment, match: re.Match) -> Directive | None:
        """Validate one ``-- KEY: value`` line; None (and an error) when it is malformed."""
        line = comment.line
        column = comment.column + match.start("value")
        raw, problem = _split_value(match.group("value"))
        if problem:
            self.error(f"{key} value has a {problem}", line, column)
            return None
        if key == "CONFIG":
            return self.config(comment, raw, column)
        value, offset, _ = _unquote(raw)
        column += offset
        if not value.strip():
            self.error(f"{key} directive has an empty value", line, column,
                       hint=f"write '-- {key}: <value>' or remove the line")
            return None
        if key in _NO_SPACES and re.search(r"\s", value):
            self.error(f"{key} value must not contain spaces: {value!r}", line, column)
            return None
        if key in _INTEGERS:
            least, meaning = _INTEGERS[key]
            kind = "a positive" if least > 0 else "a non-negative"
            if not re.fullmatch(r"[0-9]+", value) or int(value) < least:
                self.error(f"{key} must be {kind} integer, got {value!r}", line, column,
                           hint=f"{key} is in {meaning}")
                return None
            value = str(int(value))
        elif key in _CHOICES:
            choices = _CHOICES[key]
            folded = value.upper() if key == "LOG_LEVEL" else value.lower()
            if folded not in choices:
                self.error(f"{key} must be one of {', '.join(choices)}; got {value!r}", line,
                           column, hint=_suggest(folded, choices).strip() or None)
                return None
            value = folded
        elif key == "ENABLE_METRICS":
            flag = parse_boolean(value)
            if flag is None:
                self.error(f"ENABLE_METRICS must be a boolean (true/false), got {value!r}", line,
                           column)
                return None
            value = "true" if flag else "false"
        elif key == "WINDOW":
            try:
                self.windows[line] = parse_window(value, self.filename)
            except SqlSyntaxError as err:
                where = column + err.column - 1 if err.line == 1 else column
                self.error(f"in WINDOW directive: {err.message}", line, where, hint=err.hint)
                return None
        return Directive(key, value, line, column)

    def config(self, comment: _Comment, raw: str, column: int) -> Directive | None:
        line = comment.line
        if not raw.strip():
            self.error("CONFIG directive has an empty value", line, column,
                       hint="write '-- CONFIG: key = value'")
            return None
        key_match = _CONFIG_KEY.match(raw)
        if not key_match:
            self.error("CONFIG expects 'key = value'; the key must start with a letter or '_'",
                       line, column)
            return None
        rest = raw[key_match.end():]
        eq = len(rest) - len(rest.lstrip())
        if rest[eq:eq + 1] != "=":
            self.error(f"CONFIG expects 'key = value'; missing '=' after {key_match.group()!r}",
                       line, column + key_match.end() + eq)
            return None
        value_raw = rest[eq + 1:]
        lead = len(value_raw) - len(value_raw.lstrip())
        value, offset, quoted = _unquote(value_raw.strip())
        value_column = column + key_match.end() + eq + 1 + lead + offset
        if not value and not quoted:
            self.error(f"CONFIG {key_match.group()} has an empty value", line, value_column,
                       hint='write a value, or "" for an empty string')
            return None
        return Directive(key_match.group().lower(), value, line, value_column)

    # -- the whole file

    def read(self) -> Application:
        text, app = self.text, self.app
        script = parse_sql(text, self.filename)
        statements = list(script.statements)
        starts = [s.pos.line for s in statements]

        # Per-job directives grouped by the statement they precede (len(statements) = after the
        # last statement): lists of Directive in file order.
        blocks: dict[int, list[Directive]] = {}
        for comment in _full_line_comments(text):
            self.comment(comment, statements, starts, blocks)

        for index, statement in enumerate(statements):
            self.statement(index, statement, blocks.get(index, []))
        if len(statements) in blocks:
            self.orphans(blocks[len(statements)], None)

        key = lambda e: (e.line, e.column)
        app.errors.sort(key=key)
        app.warnings.sort(key=key)
        return app

    def comment(self, comment: _Comment, statements, starts, blocks) -> None:
        app, body, line = self.app, comment.body, comment.line
        match = _HEADER.match(body)
        if match:
            value, _ = _split_value(match.group("value"))
            value, offset, _ = _unquote(value)
            column = comment.column + match.start("value") + offset
            if not value:
                self.error("SQL Application header has an empty name", line, column)
            else:
                if app.name is not None:
                    self.warn(f"SQL Application header repeated; {value!r} replaces "
                              f"{app.name!r}", line, column)
                app.name = value
            return
        match = _ANNOTATION.match(body)
        if match:
            value, _ = _split_value(match.group("value"))
            value, offset, _ = _unquote(value)
            note = Directive(match.group("key").lower(), value, line,
                             comment.column + match.start("value") + offset)
            app.annotations[note.key] = note
            app.annotation_list.append(note)
            return
        match = _DIRECTIVE.match(body)
        if not match:
            loose = _MIXED_CASE.match(body)
            if loose and loose.group("key").upper() in KNOWN_DIRECTIVES:
                name = loose.group("key")
                self.warn(f"'{name}:' is not a directive (directive names are upper-case); "
                          "ignored", line, comment.column + loose.start("key"),
                          hint=f"write '-- {name.upper()}:' if it is meant as one")
            return
        key = match.group("key")
        key_column = comment.column + match.start("key")
        if key not in KNOWN_DIRECTIVES:
            self.warn(f"unknown directive {key} (ignored)", line, key_column,
                      hint=_suggest(key, KNOWN_DIRECTIVES)
                      + "known directives: " + ", ".join(KNOWN_DIRECTIVES))
            return
        following = bisect.bisect_right(starts, line)
        inside = following > 0 and statements[following - 1].end is not None and (
            statements[following - 1].end.line > line)
        if key == "CONFIG":
            directive = self.directive(key, comment, match)
            if directive is not None:
                previous = app.config.get(directive.key)
                if previous is not None:
                    self.warn(f"CONFIG {directive.key} is set again (first at line "
                              f"{previous.line}); the last value wins", line, key_column)
                app.config[directive.key] = directive
            return
        if inside:
            self.warn(f"directive inside a statement is ignored: {key}", line, key_column,
                      hint="move it above the statement it configures")
            return
        directive = self.directive(key, comment, match)
        if directive is not None:
            blocks.setdefault(following, []).append(directive)

    def split_block(self, block: list[Directive]) -> dict[str, Directive]:
        """The directives that apply: after the last JOB that has no statement, last one wins."""
        current: dict[str, Directive] = {}
        for directive in block:
            if directive.key == "JOB" and "JOB" in current:
                lost = current["JOB"]
                self.warn(f"JOB {lost.value} has no statement; its directives are ignored",
                          lost.line, lost.column,
                          hint=f"the next JOB directive (line {directive.line}) starts a new job")
                current = {}
            previous = current.get(directive.key)
            if previous is not None:
                self.warn(f"duplicate {directive.key} directive for this job (first at line "
                          f"{previous.line}); the last one wins", directive.line,
                          directive.column)
            current[directive.key] = directive
        return current

    def orphans(self, block: list[Directive], what: str | None) -> None:
        directives = self.split_block(block)
        if not directives:
            return
        first = min(directives.values(), key=lambda d: d.line)
        if what is not None:
            self.warn(f"directives before a {what} statement are ignored (it is not a job)",
                      first.line, first.column)
        elif "JOB" in directives:
            job = directives["JOB"]
            self.warn(f"JOB {job.value} has no statement; its directives are ignored",
                      job.line, job.column)
        else:
            self.warn("directives after the last statement are ignored", first.line,
                      first.column)

    def statement(self, index: int, statement, block: list[Directive]) -> None:
        app = self.app
        # EXPLAIN <job statement> is that job, run as "print its plan" (velo-sql execute).
        explained = statement.statement if isinstance(statement, ast.Explain) else statement
        if not isinstance(explained, _JOB_STATEMENTS):
            if block:
                if isinstance(statement, ast.JobCommand):
                    what = f"{statement.action} JOB"
                else:
                    what = type(statement).__name__.upper()
                self.orphans(block, what)
            return
        directives = self.split_block(block)
        job_directive = directives.get("JOB")
        statement_name = getattr(explained, "name", None)
        statement_name = str(statement_name) if statement_name is not None else None
        if job_directive is not None:
            name = job_directive.value
            if isinstance(explained, ast.StartJob) and name.lower() != statement_name.lower():
                self.error(f"JOB directive names {name} but the statement starts job "
                           f"{statement_name}", statement.pos.line, statement.pos.column,
                           hint=f"the JOB directive is at line {job_directive.line}; make the "
                                "two names agree")
        elif statement_name is not None:
            name = statement_name
        else:
            name = f"job_{len(app.jobs) + 1}"

        window = self.windows[directives["WINDOW"].line] if "WINDOW" in directives else None
        job = JobDefinition(name=name, line=statement.pos.line, statement=statement,
                            directives=directives, window=window, config=app.config)

        for other in app.jobs:
            if other.name.lower() == name.lower():
                where = job_directive or Directive("", "", statement.pos.line,
                                                   statement.pos.column)
                self.error(f"duplicate job name {name} (first defined at line {other.line})",
                           where.line, where.column, hint="job names must be unique in a file")
                break

        fmt = directives.get("FORMAT")
        if fmt is not None:
            if fmt.value == "avro" and job.setting("SCHEMA", app) is None:
                self.warn(f"job {name} reads avro but has no SCHEMA directive", fmt.line,
                          fmt.column, hint="add '-- SCHEMA: path.avsc' unless the schema is "
                                           "given on the command line")
            elif fmt.value == "protobuf" and job.setting("PROTO", app) is None:
                self.warn(f"job {name} reads protobuf but has no PROTO directive", fmt.line,
                          fmt.column, hint="add '-- PROTO: path.proto' unless the schema is "
                                           "given on the command line")
        app.jobs.append(job)


def parse_application(text: str, filename: str = "<sql>") -> Application:
    """Read an application file: its statements (a syntax error is raised) and its comment
    configuration (problems are collected in ``errors`` and ``warnings``)."""
    return _Reader(text, filename).read()
