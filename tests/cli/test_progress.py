"""The progress bar: drawn on standard error for big files on a terminal, never when piped."""

import io
import sys

from click.testing import CliRunner
from rich.console import Console

from tests.runtime.conftest import W1, make_trades, source, write_jsonl
from velostream import StreamApp
from velostream.cli import progress as progress_module
from velostream.cli.main import cli
from velostream.cli.progress import FileProgress


def test_wanted_only_when_stderr_is_a_terminal_and_rows_do_not_go_there(monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert FileProgress.wanted(output_is_terminal=False)
    assert not FileProgress.wanted(output_is_terminal=True)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert not FileProgress.wanted(output_is_terminal=False)


def test_bar_follows_the_bytes_read(tmp_path, monkeypatch):
    path = tmp_path / "trades.jsonl"
    write_jsonl(path, make_trades(20_000))
    monkeypatch.setattr(progress_module, "MIN_BYTES", 0)
    screen = io.StringIO()
    bar = FileProgress(Console(file=screen, force_terminal=True, width=120))
    seen = []
    original = bar.update
    bar.update = lambda done: (seen.append(done), original(done))
    app = StreamApp(W1 + "INTO out " + source(path)[:-1] + f", 'out.type' = 'file_sink', "
                    f"'out.path' = '{tmp_path / 'out.jsonl'}')")
    app.make_job(app.plan(), progress=bar).run()
    assert seen and seen == sorted(seen) and seen[-1] == path.stat().st_size
    assert "trades" in screen.getvalue()        # the task is named after the source
    assert bar._progress is None                 # stopped, so the terminal is handed back


def test_piped_run_prints_no_bar(tmp_path):
    path = tmp_path / "trades.jsonl"
    write_jsonl(path, make_trades(2000))
    result = CliRunner().invoke(cli, ["execute", "--query", W1 + source(path), "--format", "csv"])
    assert result.exit_code == 0
    assert "\x1b[" not in result.output and "━" not in result.output
