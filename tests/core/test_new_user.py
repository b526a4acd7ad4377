"""The new-user path: the public names import, an uncompiled source tree says how to build it,
the build is parallel with deliberate flags, and README command 1 leaves a working checkout."""

import os
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_scaled_integer_is_exported():
    from velostream import ScaledInteger
    from velostream._core.decimal import ScaledInteger as core

    assert ScaledInteger is core
    assert str(ScaledInteger("1.50") * ScaledInteger("2")) == "3.00"
    import velostream

    assert "ScaledInteger" in velostream.__all__


def test_an_uncompiled_source_tree_names_the_fix(tmp_path):
    # The README's situation: a script beside an uncompiled checkout imports the checkout.
    shutil.copytree(ROOT / "velostream", tmp_path / "velostream",
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
    script = tmp_path / "example.py"
    script.write_text("from velostream import StreamApp\n"
                      "print(StreamApp('SELECT a FROM t').process([{'a': 1}]))\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, str(script)], check=False, cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: velostream is imported from ")
    assert "Cython core is not compiled" in last and f"pip install -e {tmp_path}" in last


def _setup_arguments(monkeypatch, jobs="2"):
    import Cython.Build
    import setuptools

    seen = {}
    monkeypatch.setenv("VELOSTREAM_BUILD_JOBS", jobs)
    monkeypatch.setattr(Cython.Build, "cythonize",
                        lambda exts, **kw: seen.update(cythonize=kw, extensions=exts) or exts)
    monkeypatch.setattr(setuptools, "setup", lambda **kw: seen.update(setup=kw))
    monkeypatch.chdir(ROOT)
    runpy.run_path(str(ROOT / "setup.py"), run_name="__main__")
    return seen


@pytest.mark.skipif(sys.platform == "win32", reason="GCC/Clang flags")
def test_build_is_parallel_with_chosen_flags(monkeypatch):
    pytest.importorskip("Cython")
    seen = _setup_arguments(monkeypatch)
    assert seen["cythonize"]["nthreads"] == 2
    assert seen["setup"]["options"]["build_ext"]["parallel"] == 2
    flags = {e.name.rsplit(".", 1)[1]: e.extra_compile_args for e in seen["extensions"]}
    for hot in ("batch", "decimal", "expr", "jsoncodec", "csvcodec"):
        assert flags[hot] == ["-O2", "-g0"], hot
    assert flags["kernels_py"] == ["-O1", "-g0"]


def test_readme_command_one_is_an_editable_install_that_says_what_it_does():
    text = (ROOT / "README.md").read_text()
    first = re.search(r"```bash\n(.*?)\n", text).group(1)
    assert "pip install -q -e . " in first
    assert re.search(r'echo "velostream: [^"]*compiling', first)
    assert first.index("echo") < first.index("pip install")
