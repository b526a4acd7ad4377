"""Checks a SQL file (one statement or a whole application file) and reports what it found.

Owns the composition used by ``velo-sql validate`` and ``velo-sql-multi validate-sql``: parse the
file and its comment directives, validate every job, and describe each job's sources, sinks and
window. The CLI only renders the resulting :class:`FileReport`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from velostream.errors import SqlError, SqlSyntaxError, SqlValidationError


@dataclass
class JobReport:
    name: str
    line: int
    info: object  # plan.catalog.StatementInfo
    directives: dict = field(default_factory=dict)
    window: str | None = None

    def to_dict(self) -> dict:
        data = {"name": self.name, "line": self.line, **self.info.to_dict()}
        if self.directives:
            data["directives"] = {k: d.value for k, d in self.directives.items()}
        if self.window and not data.get("window"):
            data["window"] = self.window
        return data


@dataclass
class FileReport:
    filename: str
    application: str | None = None
    config: dict = field(default_factory=dict)
    jobs: list[JobReport] = field(default_factory=list)
    findings: list[SqlError] = field(default_factory=list)

    @property
    def errors(self) -> list[SqlError]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[SqlError]:
        return [f for f in self.findings if f.severity != "error"]

    def ok(self, strict: bool = False) -> bool:
        return not self.errors and not (strict and self.warnings)

    def to_dict(self, strict: bool = False) -> dict:
        return {
            "file": self.filename,
            "valid": self.ok(strict),
            "application": self.application,
            "config": self.config,
            "jobs": [job.to_dict() for job in self.jobs],
            "errors": [e.to_dict() for e in self.errors],
            "warnings": [w.to_dict() for w in self.warnings],
        }


def check_sql_file(text: str, filename: str = "<sql>") -> FileReport:
    """Parse, validate and describe every statement of ``text``; never raises for bad SQL."""
    from velostream.grammar import to_sql
    from velostream.grammar.appfile import parse_application
    from velostream.plan import check, describe_statement

    report = FileReport(filename)
    try:
        app = parse_application(text, filename)
    except SqlSyntaxError as err:
        report.findings.append(err.with_source(text, filename))
        return report
    report.application = app.name
    report.config = {key: d.value for key, d in app.config.items()}
    report.findings.extend(app.errors)
    report.findings.extend(app.warnings)
    report.findings.extend(_config_findings(app.config, text, filename))
    for job in app.jobs:
        findings = [f.with_source(text, filename) for f in check(job.statement)]
        info = describe_statement(job.statement)
        # -- TOPIC: makes an untyped source a Kafka source (-- OUTPUT_TOPIC: an untyped sink a
        # Kafka sink), as binding does: no "has no type" warning, and the listing says so.
        for role, directive, endpoints in (("source", "TOPIC", info.sources),
                                           ("sink", "OUTPUT_TOPIC", info.sinks)):
            if directive not in job.directives:
                continue
            findings = [f for f in findings if not _is_missing_type(f, role)]
            for ep in endpoints:
                if ep.type is None and not any(k.lower() == "config_file" for k in ep.properties):
                    ep.type = f"kafka_{role}"
                    ep.properties.setdefault("topic", job.directives[directive].value)
        findings.extend(_window_disagreement(job, text, filename))
        findings.extend(_directive_findings(job, info, text, filename))
        report.findings.extend(findings)
        window = to_sql(job.window) if job.window is not None else None
        report.jobs.append(JobReport(job.name, job.line, info, dict(job.directives), window))
    report.findings.sort(key=lambda f: (f.line, f.column))
    return report


def _finding(directive, message, severity, text, filename, hint=None) -> SqlValidationError:
    return SqlValidationError(message, directive.line, directive.column, severity=severity,
                              source=text, filename=filename, hint=hint)


def _config_findings(config: dict, text: str, filename: str) -> list[SqlError]:
    """``-- CONFIG: key = value`` globals checked by the settings table, as WITH keys are: a
    bad value is an error, an unknown key or one this build refuses a warning. Keys addressed
    to a source or sink (``name.key``) are checked with that endpoint when a job binds."""
    from velostream.plan.settings import is_job_key, job_setting, unknown_job_key, value_problem

    found = []
    for key, directive in config.items():
        setting = job_setting(key)
        if setting is None:
            if "." not in key and not is_job_key(key):
                message, hint = unknown_job_key(key)
                found.append(_finding(directive, f"CONFIG {key}: {message}", "warning", text,
                                      filename, hint))
            continue
        problem = setting.problem(directive.value) if "${" not in directive.value else None
        if problem:
            found.append(_finding(directive, f"CONFIG {key} {problem[0]}", "error", text,
                                  filename, problem[1]))
        elif setting.connector is None:
            refused = value_problem(setting, directive.value, key)
            if refused:
                found.append(_finding(directive, f"CONFIG {refused[0]}", "warning", text,
                                      filename))
    return found


def _directive_findings(job, info, text: str, filename: str) -> list[SqlError]:
    """A job directive that sets a setting this build refuses (``-- TIMEOUT:`` is
    ``timeout_ms``), or a key its source or sink does not have (``-- GROUP:`` on a file
    source), is a warning; the job will not start."""
    from velostream.plan.settings import (
        DIRECTIVES,
        JOB,
        SINK,
        endpoint_kind,
        endpoint_setting,
        job_setting,
        value_problem,
    )

    found = []
    for name, directive in job.directives.items():
        mapping = DIRECTIVES.get(name)
        if mapping is None or mapping.key is None:
            continue
        if mapping.target == JOB:
            refused = value_problem(job_setting(mapping.key), directive.value)
            if refused:
                found.append(_finding(directive, f"-- {name}: {refused[0]}", "warning", text,
                                      filename))
            continue
        for ep in info.sinks if mapping.target == SINK else info.sources:
            key = mapping.key_for(endpoint_kind(ep.type))
            if ep.type is not None and endpoint_setting(key, ep.type) is None:
                found.append(_finding(directive, f"-- {name}: sets '{key}', which {ep.role} "
                                      f"'{ep.name}' ({ep.type}) does not have", "warning",
                                      text, filename))
    return found


def _window_disagreement(job, text: str, filename: str) -> list[SqlError]:
    """A ``-- WINDOW:`` directive and the statement's own WINDOW clause must say the same."""
    from velostream.grammar import ast, to_sql

    query = ast.query_of(job.statement)
    directive = job.directives.get("WINDOW")
    if job.window is None or query is None or query.window is None or directive is None:
        return []
    if job.window == query.window:
        return []
    return [SqlValidationError(
        f"WINDOW directive says {to_sql(job.window)} but the query says {to_sql(query.window)}; "
        "the query's window is used", directive.line, directive.column, severity="warning",
        source=text, filename=filename)]


def _is_missing_type(finding: SqlError, role: str) -> bool:
    return (finding.severity == "warning" and finding.message.startswith(f"{role} ")
            and "has no '.type'" in finding.message)
