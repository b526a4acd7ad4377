"""``StreamApp``: velostream inside a Python service.

Owns the public embedding API: build an app from SQL text or a file (plus property overrides),
then either run it against its configured sources and sinks (``run``, ``run_async``/``stop``,
iteration over results, output callbacks) or feed it records directly (``process``), with no
sources or sinks at all.
"""

from __future__ import annotations

import os
import queue
import threading

from velostream.errors import ConfigError, SqlError

_END = object()


class _CallbackSink:
    """A sink that hands each output batch, as dicts, to Python callables."""

    name = "callback"

    def __init__(self, callbacks):
        self.callbacks = callbacks

    def write(self, batch):
        rows = batch.to_pylist()
        for callback in self.callbacks:
            callback(rows)

    def flush(self):
        pass

    def close(self):
        pass


def runnable_jobs(text: str, filename: str, job: str | None = None) -> list:
    """The job definitions of an application text that run a query — only those named ``job``
    when it is given. Raises the first syntax error, or a ConfigError when none is left."""
    from velostream.grammar import ast as A
    from velostream.grammar.appfile import parse_application

    app = parse_application(text, filename)
    if app.errors:
        raise app.errors[0]
    jobs = [j for j in app.jobs if A.query_of(_explained(j.statement)) is not None]
    if job is not None:
        matches = [j for j in jobs if j.name.lower() == job.lower()]
        if not matches:
            raise ConfigError(f"no job {job!r} in {filename}; jobs: "
                              f"{', '.join(j.name for j in jobs) or 'none'}")
        return matches
    if not jobs:
        raise ConfigError(f"{filename} holds no query to run")
    return jobs


def _explained(statement):
    """The statement an ``EXPLAIN`` explains, else the statement itself."""
    from velostream.grammar import ast as A

    return statement.statement if isinstance(statement, A.Explain) else statement


class StreamApp:
    """A velostream query you can run, stop, iterate over or feed.

    >>> app = StreamApp("SELECT symbol, price * quantity AS notional FROM trades WHERE quantity > 500")
    >>> app.process([{"symbol": "AAPL", "price": Decimal("189.25"), "quantity": 600}])
    [{'symbol': 'AAPL', 'notional': ScaledInteger('113550.00')}]
    """

    def __init__(self, sql: str | None = None, *, file: str | os.PathLike | None = None,
                 properties: dict | None = None, job: str | None = None,
                 filename: str | None = None):
        if (sql is None) == (file is None):
            raise ValueError("give either sql or file")
        if file is not None:
            filename = os.fspath(file)
            with open(filename, encoding="utf-8") as handle:
                text = handle.read()
        else:
            text, filename = sql, filename or "<sql>"
        self.sql = text
        self.filename = filename
        self.properties = {str(k): str(v) for k, v in (properties or {}).items()}
        statement, self.job_name, self.directives = self._pick_statement(text, filename, job)
        # EXPLAIN <statement>: the app describes the statement's plan (explain()) and runs nothing.
        self.explain_only = statement is not _explained(statement)
        self.statement = _explained(statement)
        self._callbacks: list = []
        self._job = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._in_process = None
        self.metrics = None

    # ------------------------------------------------------------------ construction
    @staticmethod
    def _pick_statement(text, filename, job):
        from velostream.plan import validate_statement

        jobs = runnable_jobs(text, filename, job)
        if len(jobs) > 1 and job is None:
            raise ConfigError(f"{filename} holds {len(jobs)} jobs; pick one with job=: "
                              f"{', '.join(j.name for j in jobs)}")
        chosen = jobs[0]
        for finding in validate_statement(chosen.statement):
            if finding.severity == "error":
                raise finding.with_source(text, filename)
        return chosen.statement, chosen.name, chosen.configuration()

    def on_output(self, callback):
        """Call ``callback(rows)`` with each output batch (a list of dicts); usable as a decorator."""
        self._callbacks.append(callback)
        return callback

    def plan(self, default_sink: str | None = None, output=None):
        """The bound JobPlan (sources, sinks, job properties) this app runs; ``output``: a
        ``plan.bind.OutputOverride`` (the CLI's --format / --output-file)."""
        from velostream.plan.bind import bind_statement

        try:
            plan = bind_statement(self.statement, self.properties, name=self.job_name,
                                  default_sink=default_sink, filename=self.filename,
                                  directives=self.directives, output=output)
        except SqlError as err:
            raise err.with_source(self.sql, self.filename) from None
        plan.sql = self.sql
        return plan

    def explain(self, default_sink: str | None = "stdout_sink", *, continuous: bool = False) -> str:
        """The physical plan this app runs, as EXPLAIN prints it (one operator per line, the
        sinks first, each with its key settings)."""
        from velostream.plan.physical import plan_job

        plan = self.plan(default_sink=default_sink)
        try:
            return plan_job(plan, bounded=not continuous).explain()
        except SqlError as err:
            raise err.with_source(self.sql, self.filename) from None

    # ------------------------------------------------------------------ running
    def make_job(self, plan, **options):
        """A :class:`~velostream.runtime.job.Job` for ``plan`` (from :meth:`plan`); ``options``
        are :class:`~velostream.runtime.build.RunOptions` fields."""
        from velostream.runtime.build import RunOptions, build_job

        return build_job(plan, RunOptions(**options))

    def _refuse_explain(self):
        if self.explain_only:
            raise ConfigError("this statement is an EXPLAIN: it describes a plan and runs "
                              "nothing; call explain() (or run the statement without EXPLAIN)")

    def _make_job(self, *, limit=None, extra_sinks=(), allow_no_sink=False, continuous=False):
        self._refuse_explain()
        plan = self.plan(default_sink=None) if not allow_no_sink else self._plan_allowing_no_sink()
        return self.make_job(plan, limit=limit, extra_sinks=list(extra_sinks),
                             continuous=continuous)

    def _plan_allowing_no_sink(self):
        try:
            return self.plan()
        except ConfigError as err:
            if "writes nowhere" not in str(err):
                raise
        plan = self.plan(default_sink="stdout_sink")
        plan.sinks = []          # results go to callbacks / the iterator only
        return plan

    def run(self, *, limit: int | None = None, continuous: bool = False):
        """Run until the inputs end (or LIMIT, or ``stop()``); returns the job's metrics."""
        sinks = [_CallbackSink(self._callbacks)] if self._callbacks else []
        self._job = self._make_job(limit=limit, extra_sinks=sinks, allow_no_sink=bool(sinks),
                                   continuous=continuous)
        self.metrics = self._job.metrics
        return self._job.run()

    def run_async(self, *, limit: int | None = None, continuous: bool = False) -> None:
        """Run in a background thread; ``stop()`` ends it, ``join()`` waits for it."""
        sinks = [_CallbackSink(self._callbacks)] if self._callbacks else []
        self._job = self._make_job(limit=limit, extra_sinks=sinks, allow_no_sink=bool(sinks),
                                   continuous=continuous)
        self.metrics = self._job.metrics

        def target():
            try:
                self._job.run()
            except BaseException as err:  # noqa: BLE001 - re-raised by join() in the caller
                self._error = err

        self._thread = threading.Thread(target=target, name=f"velostream-{self.job_name}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop a running job: it finishes its batch, flushes its sinks and returns."""
        if self._job is not None:
            self._job.stop()
        self.join(timeout)

    def join(self, timeout: float | None = None) -> None:
        """Wait for a ``run_async`` job; re-raises the error it stopped with, if any."""
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError(f"job {self.job_name} did not stop within {timeout}s")
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def results(self, *, limit: int | None = None, continuous: bool = False):
        """Iterate over output rows (dicts) while the job runs; stops it if the loop exits early."""
        rows: queue.Queue = queue.Queue(maxsize=64)

        class _QueueSink(_CallbackSink):
            def write(self, batch):
                rows.put(batch.to_pylist())

        job = self._make_job(limit=limit, extra_sinks=[_QueueSink([])], allow_no_sink=True,
                             continuous=continuous)
        self._job = job
        self.metrics = job.metrics
        failure: list = []

        def target():
            try:
                job.run()
            except BaseException as err:  # noqa: BLE001 - re-raised after the iteration ends
                failure.append(err)
            finally:
                rows.put(_END)

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        try:
            while True:
                item = rows.get()
                if item is _END:
                    break
                yield from item
        finally:
            job.stop()
            while thread.is_alive():     # drain so the producer is never blocked on put()
                try:
                    rows.get(timeout=0.05)
                except queue.Empty:
                    pass
            thread.join()
        if failure:
            raise failure[0]

    __iter__ = results

    # ------------------------------------------------------------------ in process
    def process(self, records, *, source: str | None = None) -> list[dict]:
        """Run the query over ``records`` (dicts) and return the output rows.

        State carries over between calls (LIMIT, DISTINCT); an ORDER BY sorts each call's rows.
        Failed records follow the query's failure_strategy (default LogAndContinue).
        """
        from velostream._core.batch import RecordBatch

        rows = records if type(records) is list else list(records)
        out = self.process_batch(RecordBatch.from_pylist(rows, names=self._wanted_keys(rows)),
                                 source=source)
        return [] if out is None else out.to_pylist()

    def _wanted_keys(self, rows):
        """The keys of the records the query reads (the planner's scan fields), spelled and
        ordered as the first record has them, so only those are converted to columns; None
        (every key) for ``SELECT *`` or when the first record lacks one of them (the others
        may hold it, under another spelling)."""
        if self._in_process is None:
            self._refuse_explain()
            self._in_process = self._build_in_process()
        fields = self._in_process[0].physical.scans[0].fields
        if fields is None or not rows or type(rows[0]) is not dict:
            return None
        wanted = {f.lower() for f in fields}
        keys = [k for k in rows[0] if type(k) is str and k.lower() in wanted]
        return keys if len({k.lower() for k in keys}) == len(wanted) else None

    def process_arrow(self, table, *, source: str | None = None):
        """Run the query over a ``pyarrow.Table`` (or RecordBatch) and return the output rows as
        a ``pyarrow.Table``; columns are shared with Arrow where the layouts match (needs the
        ``velostream[arrow]`` extra). State carries over between calls as for :meth:`process`."""
        from velostream._core.arrow import to_arrow_table
        from velostream._core.batch import RecordBatch

        return to_arrow_table(self.process_batch(RecordBatch.from_arrow(table), source=source))

    def process_batch(self, batch, *, source: str | None = None):
        """Run the query over a RecordBatch; returns the output RecordBatch (or None)."""
        if self._in_process is None:
            self._refuse_explain()
            self._in_process = self._build_in_process()
        job, memory, collected = self._in_process
        memory.put(batch, source)
        job.step()
        if job.physical_sorts:
            job.finish()
        return collected.take()

    def _build_in_process(self):
        from velostream.connectors.memory import CollectingSink, MemorySource
        from velostream.plan.bind import bind_statement
        from velostream.plan.physical import SortNode
        from velostream.runtime.build import build_job

        try:
            plan = bind_statement(self.statement, self.properties, name=self.job_name,
                                  filename=self.filename, directives=self.directives,
                                  in_process=True)
        except SqlError as err:
            raise err.with_source(self.sql, self.filename) from None
        plan.sql = self.sql
        sources = plan.sources
        memory = MemorySource(sources[0].name)
        collected = CollectingSink()
        job = build_job(plan, sources={sources[0].name: memory}, sinks={"collect": collected})
        job.physical_sorts = any(isinstance(n, SortNode) for n in job.physical.nodes())
        self.metrics = job.metrics
        return job, memory, collected
