"""Opening a job's state: backend choice, lock, manifest checks, --reset-state."""

import json
import os
import subprocess
import sys

import pytest

from velostream.app import StreamApp
from velostream.errors import ConfigError
from velostream.state.jobstate import (
    MANIFEST,
    REMEDY,
    StateDirError,
    job_dir,
    job_dir_name,
    open_job_state,
    open_state,
    reset_state,
    resolve_backend,
)
from velostream.state.store import MemoryStore


def test_backend_choice():
    assert resolve_backend(None, None) == "memory"
    assert resolve_backend(None, "/tmp/x") == "rocksdb"
    assert resolve_backend("SQLite", "/tmp/x") == "sqlite"
    with pytest.raises(ConfigError, match="state.backend: the rocksdb state backend needs"):
        resolve_backend("rocksdb", None)


class FakePlan:
    """The two accessors open_job_state reads (JobPlan.name / JobPlan.setting)."""

    def __init__(self, name, **settings):
        self.name, self.settings = name, settings

    def setting(self, key):
        return self.settings.get(key)


def test_the_plan_chooses(tmp_path):
    st = open_job_state(FakePlan("j"), "fp")
    assert isinstance(st.store, MemoryStore) and st.path is None
    st.close()
    st = open_job_state(FakePlan("j", **{"state.dir": str(tmp_path)}), "fp")
    assert st.backend == "rocksdb" and st.path == str(tmp_path / "j") and st.fresh
    st.close()


def test_a_real_plan_reads_both_settings(tmp_path):
    plan = StreamApp(f"SELECT a FROM t WITH ('t.type' = 'file_source', 't.path' = 'in.csv', "
                     f"'state.backend' = 'sqlite', 'state.dir' = '{tmp_path}')",
                     ).plan(default_sink="stdout_sink")
    st = open_job_state(plan, "fp")
    assert st.backend == "sqlite" and st.path == str(tmp_path / plan.name)
    assert os.path.exists(os.path.join(st.path, "store", "state.sqlite"))
    st.close()


@pytest.mark.parametrize("backend", ["rocksdb", "sqlite"])
def test_state_is_reused_by_the_same_query_and_refused_to_another(tmp_path, backend):
    st = open_state(str(tmp_path), "job", "fp1", backend)
    st.store.put("agg", b"k", b"v")
    st.store.commit()
    st.close()
    st = open_state(str(tmp_path), "job", "fp1", backend)
    assert not st.fresh and st.store.table("agg").get(b"k") == b"v"
    st.close()
    with pytest.raises(StateDirError) as err:
        open_state(str(tmp_path), "job", "fp2", backend)
    assert str(err.value) == (f"state directory {tmp_path / 'job'}: was written by a different "
                              "query (plan fingerprint fp1, this query's is fp2), so its state "
                              f"cannot be reused; {REMEDY}")
    other = "sqlite" if backend == "rocksdb" else "rocksdb"
    with pytest.raises(StateDirError, match=f"was written by the {backend} backend, but "
                       f"'state.backend' is {other}; set 'state.backend' = '{backend}'"):
        open_state(str(tmp_path), "job", "fp1", other)
    # None of the refusals touched the state.
    st = open_state(str(tmp_path), "job", "fp1", backend)
    assert st.store.table("agg").get(b"k") == b"v"
    st.close()


def test_reset_starts_over(tmp_path):
    st = open_state(str(tmp_path), "job", "fp1", "rocksdb")
    st.store.put("agg", b"k", b"v")
    st.store.commit()
    st.close()
    st = open_state(str(tmp_path), "job", "fp2", "sqlite", reset=True)
    assert st.fresh and st.store.tables() == []
    st.close()
    assert json.loads((tmp_path / "job" / MANIFEST).read_text())["backend"] == "sqlite"
    assert reset_state(str(tmp_path), "job") is True
    assert reset_state(str(tmp_path), "job") is False
    assert reset_state(str(tmp_path), "never-ran") is False


def test_a_second_process_on_the_same_state_fails_clearly(tmp_path):
    st = open_state(str(tmp_path), "job", "fp", "sqlite")
    code = ("import sys\nfrom velostream.state.jobstate import open_state, StateDirError\n"
            f"try:\n    open_state({str(tmp_path)!r}, 'job', 'fp', 'sqlite')\n"
            "except StateDirError as e:\n    print(e)\n    sys.exit(3)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 3, out.stderr
    assert out.stdout.strip() == (f"state directory {tmp_path / 'job'}: is in use by process "
                                  f"{os.getpid()}; stop that job first, or point 'state.dir' "
                                  "somewhere else")
    with pytest.raises(StateDirError, match="in use by process"):   # also within one process
        reset_state(str(tmp_path), "job")
    st.close()
    open_state(str(tmp_path), "job", "fp", "sqlite").close()          # released


@pytest.mark.parametrize("damage, reason", [
    (lambda d: (d / MANIFEST).write_text("{not json"), "MANIFEST.json is corrupted"),
    (lambda d: (d / MANIFEST).write_text("[1]"), "MANIFEST.json is corrupted"),
    (lambda d: (d / MANIFEST).unlink(), "holds state (store/) but no MANIFEST.json"),
    (lambda d: (d / "store" / "state.sqlite").write_bytes(b"garbage" * 100),
     "the sqlite store cannot be opened: file is not a database"),
    (lambda d: (d / MANIFEST).write_text(json.dumps({"format": 99, "backend": "sqlite",
                                                     "fingerprint": "fp"})),
     "was written in state format 99"),
])
def test_damaged_state_is_reported_not_wiped(tmp_path, damage, reason):
    st = open_state(str(tmp_path), "job", "fp", "sqlite")
    st.store.put("op", b"k", b"v")
    st.store.commit()
    st.close()
    damage(tmp_path / "job")
    before = sorted(os.listdir(tmp_path / "job"))
    with pytest.raises(StateDirError) as err:
        open_state(str(tmp_path), "job", "fp", "sqlite")
    assert reason in str(err.value) and str(tmp_path / "job") in str(err.value)
    assert "--reset-state" in str(err.value)
    assert sorted(os.listdir(tmp_path / "job")) == before
    open_state(str(tmp_path), "job", "fp", "sqlite", reset=True).close()   # the way out


@pytest.mark.parametrize("backend", ["rocksdb", "sqlite"])
def test_a_start_killed_before_its_manifest_was_written_starts_fresh(tmp_path, backend):
    """The store is created before the manifest: a store that holds nothing and has no
    manifest is such a start's, not someone's state, and is taken as fresh."""
    open_state(str(tmp_path), "job", "fp", backend).close()
    (tmp_path / "job" / MANIFEST).unlink()
    st = open_state(str(tmp_path), "job", "fp", backend)
    assert st.fresh
    st.close()
    assert json.loads((tmp_path / "job" / MANIFEST).read_text())["fingerprint"] == "fp"


def test_a_damaged_rocksdb_commit_marker_is_reported(tmp_path):
    st = open_state(str(tmp_path), "job", "fp", "rocksdb")
    st.store.put("t", b"k", b"v")
    st.store.commit()
    st.close()
    (tmp_path / "job" / "store" / "COMMITTED").write_text("7\n")
    with pytest.raises(StateDirError, match="COMMITTED names no complete commit"):
        open_state(str(tmp_path), "job", "fp", "rocksdb")


def test_job_names_become_one_path_component(tmp_path):
    assert job_dir_name("orders-by_region.v2") == "orders-by_region.v2"
    assert job_dir_name("a/b") == "a%2Fb" and job_dir_name("..") == "%2E."
    assert os.path.dirname(job_dir(str(tmp_path), "../x")) == str(tmp_path)
