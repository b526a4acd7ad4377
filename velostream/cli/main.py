"""``velo-sql``: run, stream or check one SQL query or application file."""

from __future__ import annotations

import sys

import click

from velostream import __version__
from velostream.cli.common import FORMATS, friendly_errors, read_source, render_reports


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


if __name__ == "__main__":  # python -m velostream.cli.main
    cli()
