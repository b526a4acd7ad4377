"""velo-sql export-state / import-state, through click's CliRunner."""

import io
import json
import tarfile

import pytest
from click.testing import CliRunner

from velostream.cli.main import cli
from velostream.state.jobstate import open_state


def make_state(state_dir, backend, job="orders", n=50, value=b"v"):
    st = open_state(str(state_dir), job, "fp", backend)
    for i in range(n):
        st.store.put("agg", i.to_bytes(4, "big"), value)
    st.store.put("positions", b"src", str(n).encode())
    st.store.commit()
    st.store.put("agg", b"uncommitted", b"x")        # not part of the state
    st.close()


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.mark.parametrize("backend", ["rocksdb", "sqlite"])
def test_export_then_import_elsewhere_gives_the_same_state(tmp_path, backend):
    make_state(tmp_path / "a", backend)
    out = run("export-state", "--state-dir", tmp_path / "a", "--job", "orders",
              "-o", tmp_path / "b.tar.gz")
    assert out.exit_code == 0, out.output
    assert f"of job orders ({backend} state) to {tmp_path / 'b.tar.gz'}" in out.output
    with tarfile.open(tmp_path / "b.tar.gz") as tar:
        index = json.loads(tar.extractfile("velostream-state/ARCHIVE.json").read())
        names = tar.getnames()
    assert index["backend"] == backend and index["job"] == "orders"
    assert "MANIFEST.json" in index["files"] and all(len(f["sha256"]) == 64
                                                     for f in index["files"].values())
    assert not any("/live/" in n or n.endswith("LOCK") for n in names)
    out = run("import-state", tmp_path / "b.tar.gz", "--state-dir", tmp_path / "c")
    assert out.exit_code == 0, out.output
    st = open_state(str(tmp_path / "c"), "orders", "fp", backend)
    assert not st.fresh and st.store.table("positions").get(b"src") == b"50"
    assert len(list(st.store.table("agg").range())) == 50
    assert st.store.table("agg").get(b"uncommitted") is None
    st.close()
    out = run("import-state", tmp_path / "b.tar.gz", "--state-dir", tmp_path / "c",
              "--job", "copy")                         # under another name
    assert out.exit_code == 0, out.output
    open_state(str(tmp_path / "c"), "copy", "fp", backend).close()


def test_import_refuses_existing_state_without_force(tmp_path):
    make_state(tmp_path / "a", "sqlite", n=5)
    assert run("export-state", "--state-dir", tmp_path / "a", "--job", "orders",
               "-o", tmp_path / "x.tgz").exit_code == 0
    make_state(tmp_path / "c", "sqlite", n=9)
    out = run("import-state", tmp_path / "x.tgz", "--state-dir", tmp_path / "c")
    assert out.exit_code == 1
    assert out.output.strip() == (f"error: {tmp_path / 'c' / 'orders'} already holds state for "
                                  "job 'orders'; use --force to replace it")
    st = open_state(str(tmp_path / "c"), "orders", "fp", "sqlite")
    assert st.store.table("positions").get(b"src") == b"9"          # untouched
    st.close()
    out = run("import-state", tmp_path / "x.tgz", "--state-dir", tmp_path / "c", "--force")
    assert out.exit_code == 0, out.output
    st = open_state(str(tmp_path / "c"), "orders", "fp", "sqlite")
    assert st.store.table("positions").get(b"src") == b"5"
    st.close()


def test_a_running_job_is_neither_exported_nor_overwritten(tmp_path):
    make_state(tmp_path / "a", "rocksdb")
    assert run("export-state", "--state-dir", tmp_path / "a", "--job", "orders",
               "-o", tmp_path / "x.tgz").exit_code == 0
    running = open_state(str(tmp_path / "a"), "orders", "fp", "rocksdb")
    try:
        out = run("export-state", "--state-dir", tmp_path / "a", "--job", "orders",
                  "-o", tmp_path / "y.tgz")
        assert out.exit_code == 1 and "is in use by process" in out.output
        out = run("import-state", tmp_path / "x.tgz", "--state-dir", tmp_path / "a", "--force")
        assert out.exit_code == 1 and "is in use by process" in out.output
        assert not (tmp_path / "y.tgz").exists()
    finally:
        running.close()


def _repack(src, dst, change):
    with tarfile.open(src) as tar, tarfile.open(dst, "w:gz") as out:
        for m in tar.getmembers():
            data = tar.extractfile(m).read() if m.isfile() else None
            m, data = change(m, data)
            out.addfile(m, io.BytesIO(data) if data is not None else None)


def test_damaged_or_foreign_archives_are_refused(tmp_path):
    make_state(tmp_path / "a", "sqlite")
    good = tmp_path / "x.tgz"
    assert run("export-state", "--state-dir", tmp_path / "a", "--job", "orders",
               "-o", good).exit_code == 0

    def flip(m, data):
        if m.name.endswith("state.sqlite"):
            data = data[:200] + bytes([data[200] ^ 1]) + data[201:]
        return m, data

    _repack(good, tmp_path / "bad.tgz", flip)
    out = run("import-state", tmp_path / "bad.tgz", "--state-dir", tmp_path / "c")
    assert out.exit_code == 1
    assert "store/state.sqlite does not match its checksum (the archive is damaged)" in out.output

    def escape(m, data):
        if m.name.endswith("MANIFEST.json"):
            m.name = "velostream-state/../../evil"
        return m, data

    _repack(good, tmp_path / "evil.tgz", escape)
    out = run("import-state", tmp_path / "evil.tgz", "--state-dir", tmp_path / "c")
    assert out.exit_code == 1 and "unexpected member 'velostream-state/../../evil'" in out.output
    (tmp_path / "junk.tgz").write_bytes(b"not a tarball")
    out = run("import-state", tmp_path / "junk.tgz", "--state-dir", tmp_path / "c")
    assert out.exit_code == 1 and "is not a state archive" in out.output
    assert not (tmp_path / "c" / "orders").exists() and not (tmp_path / "evil").exists()


def test_export_of_a_job_without_state(tmp_path):
    out = run("export-state", "--state-dir", tmp_path, "--job", "nope", "-o", tmp_path / "x")
    assert out.exit_code == 1 and f"no state for job 'nope' in {tmp_path}" in out.output
