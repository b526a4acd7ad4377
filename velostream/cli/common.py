"""What both command groups share: error handling without tracebacks, and report rendering."""

from __future__ import annotations

import functools
import logging
import sys

import click
import orjson

from velostream.errors import SqlError, VelostreamError

FORMATS = click.Choice(["text", "json"], case_sensitive=False)


class _StderrHandler(logging.Handler):
    """Writes log records to whatever sys.stderr is at the time (click's test runner swaps it)."""

    def emit(self, record):
        try:
            sys.stderr.write(f"{record.levelname.lower()}: {self.format(record)}\n")
        except Exception:  # noqa: BLE001 - logging's own contract for handler failures
            self.handleError(record)


def setup_logging(debug: bool) -> None:
    root = logging.getLogger("velostream")
    if not any(isinstance(h, _StderrHandler) for h in root.handlers):
        root.addHandler(_StderrHandler())
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
    root.propagate = False


def friendly_errors(func):
    """Run a command; print velostream errors plainly, and tracebacks only with --debug."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        ctx = click.get_current_context()
        debug = bool(ctx.find_root().params.get("debug"))
        setup_logging(debug)
        try:
            return func(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except VelostreamError as err:
            if debug:
                raise
            # SqlError renders itself (file:line:col, caret); other errors get a plain prefix.
            text = err.format() if isinstance(err, SqlError) else f"error: {err}"
            click.echo(text, err=True)
            sys.exit(1)
        except Exception as err:  # a bug: say so briefly, keep the traceback for --debug
            if debug:
                raise
            click.echo(f"internal error: {type(err).__name__}: {err} (run with --debug for the traceback)",
                       err=True)
            sys.exit(2)

    return wrapper


def read_source(path: str) -> tuple[str, str]:
    """Text and display name of FILE, or of standard input for '-'."""
    if path == "-":
        return sys.stdin.read(), "<stdin>"
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(), path
    except OSError as err:
        raise click.FileError(path, hint=err.strerror) from None
    except UnicodeDecodeError as err:
        raise click.FileError(path, hint=f"not UTF-8 text ({err.reason} at byte {err.start})") from None


def render_reports(reports, fmt: str, strict: bool) -> int:
    """Print validation reports; the exit code is 0 when all are valid."""
    ok = all(r.ok(strict) for r in reports)
    if fmt == "json":
        data = [r.to_dict(strict) for r in reports]
        payload = data[0] if len(data) == 1 else {"valid": ok, "files": data}
        click.echo(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode())
        return 0 if ok else 1
    for report in reports:
        _render_text(report, strict)
    return 0 if ok else 1


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _render_text(report, strict: bool) -> None:
    errors, warnings = report.errors, report.warnings
    verdict = click.style("valid", fg="green", bold=True) if report.ok(strict) else click.style(
        "invalid", fg="red", bold=True)
    title = f"{report.filename}: {verdict} — {_plural(len(report.jobs), 'job')}, " \
            f"{_plural(len(errors), 'error')}, {_plural(len(warnings), 'warning')}"
    click.echo(title)
    if report.application:
        click.echo(f"  application: {report.application}")
    if report.config:
        click.echo("  config: " + ", ".join(f"{k}={v}" for k, v in report.config.items()))
    for job in report.jobs:
        _render_job(job)
    # Diagnostics go to stderr; flush the report first so "2>&1" keeps them in order.
    sys.stdout.flush()
    for finding in errors + warnings:
        colour = "red" if finding.severity == "error" else "yellow"
        text = finding.format()
        head, _, rest = text.partition("\n")
        click.echo(click.style(head, fg=colour), err=True)
        if rest:
            click.echo(rest, err=True)


def _render_job(job) -> None:
    info = job.info.to_dict()
    click.echo(f"  job {click.style(job.name, bold=True)} (line {job.line}): {info.get('kind', '')}")
    for role in ("sources", "sinks"):
        endpoints = info.get(role) or []
        if endpoints:
            shown = ", ".join(_endpoint(e) for e in endpoints)
            click.echo(f"    {role + ':':9}{shown}")
    window = info.get("window") or job.window
    if window:
        click.echo(f"    window:  {window}")
    if info.get("emit"):
        click.echo(f"    emit:    {info['emit']}")
    if job.directives:
        shown = ", ".join(f"{k}={d.value}" for k, d in job.directives.items() if k != "JOB")
        if shown:
            click.echo(f"    directives: {shown}")


def _endpoint(endpoint: dict) -> str:
    kind = endpoint.get("type") or "type not set"
    details = [kind]
    props = endpoint.get("properties") or {}
    for key in ("topic", "path", "table", "format", "value.format", "config_file"):
        if key in props:
            details.append(f"{key}={props[key]}")
    return f"{endpoint['name']} ({', '.join(details)})"


def echo_json(data) -> None:
    click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
