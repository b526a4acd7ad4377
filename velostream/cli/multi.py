"""``velo-sql-multi``: the job server's command line (deploy and manage many jobs)."""

from __future__ import annotations

import sys

import click

from velostream import __version__
from velostream.cli.common import FORMATS, friendly_errors, read_source, render_reports


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="velo-sql-multi")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for unexpected errors.")
def cli(debug):
    """Velostream job server: deploy SQL application files as many isolated jobs.

    \b
    Examples:
      velo-sql-multi validate-sql --file examples/quickstart/app.sql
    """


@cli.command("validate-sql")
@click.option("--file", "files", required=True, multiple=True, metavar="FILE",
              help="SQL application file with job definitions ('-' for standard input); repeatable.")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True,
              help="Report as readable text or as JSON.")
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 1).")
@friendly_errors
def validate_sql(files, fmt, strict):
    """Check application files before deploying them.

    Reads the -- CONFIG: / -- JOB: directives and every statement, validates them and lists
    the jobs with their sources, sinks and windows. Exits 0 when every file is valid.
    """
    from velostream.plan.file_check import check_sql_file

    reports = []
    for file in files:
        text, name = read_source(file)
        reports.append(check_sql_file(text, name))
    sys.exit(render_reports(reports, fmt.lower(), strict))
