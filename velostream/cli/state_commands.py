"""``velo-sql export-state`` / ``import-state``: back up or move a job's state (a tarball)."""

from __future__ import annotations

import click

from velostream.cli.common import friendly_errors


@click.command("export-state")
@click.option("--state-dir", required=True, type=click.Path(file_okay=False),
              help="The job's 'state.dir'.")
@click.option("--job", required=True, help="The job's name (its folder under the state dir).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The archive to write (.tar.gz).")
@friendly_errors
def export_state(state_dir, job, output):
    """Write a job's committed state to a tarball (with a manifest of checksums).

    \b
    The job must not be running (its state directory is locked while it is).
      velo-sql export-state --state-dir /var/lib/velo --job orders -o orders-state.tar.gz
    """
    from velostream.state.archive import export_state as run

    index = run(state_dir, job, output)
    click.echo(f"exported {len(index['files'])} files of job {job} ({index['backend']} state) "
               f"to {output}")


@click.command("import-state")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option("--state-dir", required=True, type=click.Path(file_okay=False),
              help="The 'state.dir' to put the state in.")
@click.option("--job", default=None, help="Import as this job (default: the exported job's name).")
@click.option("--force", is_flag=True, help="Replace state the job already has.")
@friendly_errors
def import_state(archive, state_dir, job, force):
    """Put the state of an export-state tarball back (checksums checked first).

    \b
    Refuses a job that already has state unless --force, and a job that is running always.
      velo-sql import-state orders-state.tar.gz --state-dir /var/lib/velo
    """
    from velostream.state.archive import import_state as run

    index = run(archive, state_dir, job, force)
    click.echo(f"imported {index['backend']} state of job {job or index['job']} into {state_dir}")
