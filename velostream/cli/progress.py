"""A progress bar for long runs over big files: on a terminal only, never when piped."""

from __future__ import annotations

import sys

# Small inputs finish before a bar would be readable.
MIN_BYTES = 8 << 20


class FileProgress:
    """rich progress on stderr, fed with bytes read by the job's file source."""

    def __init__(self, console=None):
        self._console = console  # a rich Console; default: standard error
        self._progress = None
        self._task = None

    @staticmethod
    def wanted(output_is_terminal: bool) -> bool:
        # Rows printed to the same terminal would tear the bar apart.
        return sys.stderr.isatty() and not output_is_terminal

    def start(self, total: int, name: str) -> None:
        if total < MIN_BYTES:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        # stderr: standard output may be the query's results, piped elsewhere.
        console = self._console or Console(stderr=True)
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                  TransferSpeedColumn(), TimeRemainingColumn(), transient=True,
                                  console=console)
        self._progress.start()
        self._task = self._progress.add_task(name, total=total)

    def update(self, done: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=done)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
