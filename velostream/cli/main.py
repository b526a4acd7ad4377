"""``velo-sql``: run, stream or check one SQL query or application file."""

from __future__ import annotations

import sys

import click

from velostream import __version__
from velostream.cli.common import FORMATS, friendly_errors, read_source, render_reports
from velostream.cli.state_commands import export_state, import_state
from velostream.formats import registry as formats


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="velo-sql")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for unexpected errors.")
def cli(debug):
    """Velostream SQL: continuous queries over Kafka topics, files and SQLite tables.

    \b
    Examples:
      velo-sql validate examples/quickstart/app.sql
      echo "SELECT * FROM orders WHERE amount > 100" | velo-sql validate -
    """


@cli.command()
@click.argument("file", metavar="FILE|-")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True,
              help="Report as readable text or as JSON.")
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 1).")
@friendly_errors
def validate(file, fmt, strict):
    """Check a statement or an application file without running it.

    Parses FILE (or standard input for '-'), reads its job directives (-- JOB:, -- TOPIC:, …),
    validates every statement and prints what it found: jobs, sources, sinks and windows.
    Errors and warnings are printed as file:line:column with the line and a caret.
    Exits 0 when the file is valid, 1 otherwise.
    """
    from velostream.plan.file_check import check_sql_file

    text, name = read_source(file)
    sys.exit(render_reports([check_sql_file(text, name)], fmt.lower(), strict))


OUTPUT_FORMATS = click.Choice(formats.names(output=True), case_sensitive=False)


def _run_options(func):
    """Options shared by execute and stream."""
    options = [
        click.option("--query", "-q", help="The SQL to run."),
        click.option("--file", "-f", "file", type=click.Path(dir_okay=False),
                     help="An application file (.sql) with one or more jobs."),
        click.option("--job", help="Run only this job of the application file."),
        click.option("--format", "fmt", type=OUTPUT_FORMATS, default=None,
                     help="Format of results on standard output (or in --output-file). "
                          "Default: table on a terminal, json-lines otherwise."),
        click.option("--limit", type=click.IntRange(min=1), default=None,
                     help="Stop after N result rows."),
        click.option("--output", type=click.Choice(["stdout", "file"]), default=None,
                     help="Where results of a query without INTO go (default: stdout, or the "
                          "file when --output-file is given)."),
        click.option("--output-file", type=click.Path(dir_okay=False),
                     help="Write the results to this file instead (implies --output file); "
                          "its format is --format, else from the extension (.csv, .json, "
                          ".jsonl), else json-lines."),
        click.option("--property", "-p", "properties", multiple=True, metavar="KEY=VALUE",
                     help="Set or override a property, e.g. -p trades.path=data.jsonl "
                          "(repeatable; wins over WITH and job comments)."),
        click.option("--stats/--no-stats", default=None,
                     help="Print records in/out/failed at the end (default: on a terminal)."),
        click.option("--reset-state", is_flag=True,
                     help="With a 'state.dir': drop its checkpoint and start over from the "
                          "beginning of the inputs (instead of resuming where it stopped)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _parse_properties(items) -> dict:
    props = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--property")
        props[key.strip()] = value.strip()
    return props


@cli.command()
@_run_options
@friendly_errors
def execute(query, file, job, fmt, limit, output, output_file, properties, stats, reset_state):
    """Run a query (or an application's jobs) over bounded inputs and exit when they end.

    \b
    Sources and sinks are bound by WITH properties, e.g.
      velo-sql execute --query "SELECT symbol, price * quantity AS notional FROM trades
        WHERE quantity > 500 WITH ('trades.type' = 'file_source',
        'trades.path' = 'trades.jsonl', 'trades.format' = 'jsonl')"
    A query without INTO prints its results (see --format) or writes --output-file.
    """
    _run(query, file, job, fmt, limit, output, output_file, properties, stats, continuous=False,
         reset_state=reset_state)


@cli.command()
@_run_options
@click.option("--continuous", is_flag=True,
              help="Keep following the inputs (file sources tail their files) until Ctrl-C.")
@friendly_errors
def stream(query, file, job, fmt, limit, output, output_file, properties, stats, reset_state,
           continuous):
    """Run a query continuously: with --continuous, file sources follow their growing files.

    Ctrl-C stops cleanly: the current batch is finished, sinks are flushed, exit code 0. With
    a 'state.dir' a last checkpoint is taken, and the next run continues from there.
    """
    _run(query, file, job, fmt, limit, output, output_file, properties, stats,
         continuous=continuous, reset_state=reset_state)


def _output_file_format(output, output_file, fmt) -> str | None:
    """The format the results file is written in, or None when results go to standard output."""
    if output_file is None:
        if output == "file":
            raise click.UsageError("--output file needs --output-file PATH")
        return None
    if output == "stdout":
        raise click.UsageError("--output stdout and --output-file contradict each other; "
                               "leave out --output (--output-file implies --output file)")
    if fmt is None:
        spec = formats.by_extension(output_file)     # .csv, .json, .jsonl … else json-lines
        return spec.name if spec is not None and spec.output else "json-lines"
    spec = formats.get(fmt, "--format", role="encoder")
    if spec.terminal_only:
        files = ", ".join(formats.names(output=True, terminal_only=False))
        raise click.UsageError(f"--format {spec.name} is for a terminal; with --output-file use "
                               f"{files}")
    return spec.name


def _run(query, file, job, fmt, limit, output, output_file, properties, stats, continuous,
         reset_state=False):
    import signal
    import threading

    from velostream.app import StreamApp, runnable_jobs
    from velostream.cli.progress import FileProgress
    from velostream.errors import ConfigError
    from velostream.plan.bind import OutputOverride

    if (query is None) == (file is None):
        raise click.UsageError("give exactly one of --query and --file")
    file_format = _output_file_format(output, output_file, fmt)
    overrides = _parse_properties(properties)
    if file is not None:
        text, name = read_source(file)
    else:
        text, name = query, "<query>"
    jobs = runnable_jobs(text, name, job)
    if continuous and len(jobs) > 1:
        raise click.UsageError(f"{name} holds {len(jobs)} jobs; pick one with --job to stream it")
    if file_format and len(jobs) > 1:
        raise click.UsageError(f"{name} holds {len(jobs)} jobs; pick one with --job to write its "
                               "results to --output-file")

    stop = threading.Event()
    interrupted = []

    def on_sigint(signum, frame):
        if interrupted:
            raise KeyboardInterrupt
        interrupted.append(signum)
        stop.set()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        for definition in jobs:
            app = StreamApp(text, properties=overrides, job=definition.name, filename=name)
            if app.explain_only:
                click.echo(app.explain(continuous=continuous))
                continue
            try:
                plan = app.plan(default_sink="stdout_sink", output=OutputOverride(
                    file_format or fmt, output_file if file_format else None))
            except ConfigError as err:
                if err.key == "--output-file":
                    raise click.UsageError(err.message) from None
                raise
            terminal_out = any(s.type == "stdout_sink" for s in plan.sinks) and sys.stdout.isatty()
            progress = FileProgress() if FileProgress.wanted(terminal_out) else None
            runner = app.make_job(plan, limit=limit, continuous=continuous, stop_event=stop,
                                  progress=progress, reset_state=reset_state)
            metrics = runner.run()
            if stats or (stats is None and sys.stderr.isatty()):
                click.echo(f"{plan.name}: {metrics.records_in} records in, {metrics.records_out} "
                           f"out, {metrics.records_failed} failed, "
                           f"{metrics.elapsed_seconds:.2f}s", err=True)
            if stop.is_set():
                break
    finally:
        signal.signal(signal.SIGINT, previous)


@cli.command()
@click.option("--query", "-q", help="The SQL to explain.")
@click.option("--file", "-f", "file", type=click.Path(dir_okay=False),
              help="An application file (.sql); every job is explained unless --job is given.")
@click.option("--job", help="Explain only this job of the application file.")
@click.option("--property", "-p", "properties", multiple=True, metavar="KEY=VALUE",
              help="Set or override a property, as for execute.")
@click.option("--continuous", is_flag=True, help="Plan for following the inputs (as stream "
              "--continuous does), which refuses operators that need the end of the input.")
@friendly_errors
def explain(query, file, job, properties, continuous):
    """Print the physical plan of a query: its operators as a tree, sinks first.

    \b
    Each line is one operator with its key settings, e.g.
      Sink: stdout (stdout_sink)
        Project: symbol, price * quantity AS notional
          Filter: quantity > 500
            EventTime: source=trades, from=_timestamp
              Scan: source=trades, type=file_source, path=trades.jsonl, fields=[…]
    Nothing is read or written. `EXPLAIN <statement>` in SQL prints the same.
    """
    from velostream.app import StreamApp, runnable_jobs

    if (query is None) == (file is None):
        raise click.UsageError("give exactly one of --query and --file")
    overrides = _parse_properties(properties)
    text, name = read_source(file) if file is not None else (query, "<query>")
    jobs = runnable_jobs(text, name, job)
    for i, definition in enumerate(jobs):
        app = StreamApp(text, properties=overrides, job=definition.name, filename=name)
        if len(jobs) > 1:
            click.echo(("\n" if i else "") + f"-- job {definition.name}")
        click.echo(app.explain(continuous=continuous))


@cli.command("config-keys")
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "json"]), default=None,
              help="table on a terminal, markdown otherwise (docs/config-keys.md is this output).")
def config_keys(fmt):
    """Print every job, source and sink setting: type, default, status and what it does.

    \b
    Generated from velostream/plan/settings.py; docs/config-keys.md is
      velo-sql config-keys --format markdown > docs/config-keys.md
    """
    from velostream.plan.settings import reference_json, reference_markdown, reference_table

    fmt = fmt or ("table" if sys.stdout.isatty() else "markdown")
    if fmt == "json":
        click.echo(reference_json(), nl=False)
    elif fmt == "markdown":
        click.echo(reference_markdown(), nl=False)
    else:
        reference_table()


cli.add_command(export_state)
cli.add_command(import_state)


if __name__ == "__main__":  # python -m velostream.cli.main
    cli()
