"""``velostream._core`` is the ground floor: it imports nothing from the planner, the runtime or
anything above them (only itself and ``velostream.errors``), lazily inside a function included."""

import pathlib
import re
import subprocess
import sys
import textwrap

import velostream._core

CORE_DIR = pathlib.Path(velostream._core.__file__).parent
ALLOWED = {"_core", "errors"}
# `import velostream.x`, `from velostream.x import …`, `from velostream import x`, cimports too.
IMPORT = re.compile(
    r"^\s*(?:from\s+velostream\.(\w+)[\w.]*\s+c?import|c?import\s+velostream\.(\w+)"
    r"|from\s+velostream\s+c?import\s+([\w, ()]+))", re.MULTILINE)


def _sources():
    return sorted(p for p in CORE_DIR.iterdir() if p.suffix in (".pyx", ".pxd", ".py"))


def upward_imports(text: str) -> list[str]:
    found = []
    for match in IMPORT.finditer(text):
        names = match.group(1) or match.group(2) or match.group(3)
        for name in re.split(r"[\s,()]+", names):
            if name and name.split(" as ")[0] not in ALLOWED:
                found.append(name)
    return found


def test_the_scan_sees_every_import_form():
    text = textwrap.dedent("""
        from velostream.plan.types import parse_timestamp_text
        def f():
            import velostream.runtime.job
            from velostream import connectors, errors
        from velostream._core.batch cimport Column
        from velostream.errors import VelostreamError
    """)
    assert upward_imports(text) == ["plan", "runtime", "connectors"]


def test_core_sources_import_nothing_from_above():
    sources = _sources()
    assert any(p.name == "kernels_py.pyx" for p in sources)
    offenders = {p.name: upward_imports(p.read_text()) for p in sources}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_core_modules_import_with_the_upper_layers_blocked():
    names = sorted({p.stem for p in _sources() if p.suffix in (".pyx", ".py")})
    script = textwrap.dedent(f"""
        import importlib, importlib.abc, sys

        BLOCKED = ("velostream.plan", "velostream.runtime", "velostream.connectors",
                   "velostream.formats", "velostream.grammar", "velostream.config",
                   "velostream.cli", "velostream.app")

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.startswith(BLOCKED):
                    raise ImportError(f"_core imported {{name}}")
                return None

        sys.meta_path.insert(0, Block())
        for name in {names!r}:
            if name != "__init__":
                importlib.import_module("velostream._core." + name)
        # the lazy paths that used to import the planner: CAST text to BOOLEAN and TIMESTAMP
        from velostream._core import kernels_py
        from velostream._core.kernels_py import T_BOOL, T_STRING, T_TIMESTAMP
        assert kernels_py.converter(T_STRING, T_BOOL)("yes") is True
        assert kernels_py.converter(T_STRING, T_TIMESTAMP)("1970-01-01T00:00:01Z") == 1000
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True,
                          text=True,
                          cwd=CORE_DIR.parents[1])
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
