"""The Cython core is really compiled: extension modules, static extension types, a C API capsule.

Guards against a build that silently falls back to importing ``.pyx`` sources as Python (or to a
stale pure-Python shim), which would pass the behaviour tests while being orders slower.
"""

import importlib
import importlib.machinery
import os
import pathlib
import runpy
import shutil

import pytest

import velostream._core
import velostream._core.decimal as decimal_mod
from velostream._core.decimal import ScaledInteger

EXTENSION_SUFFIXES = tuple(importlib.machinery.EXTENSION_SUFFIXES)
CORE_DIR = pathlib.Path(velostream._core.__file__).parent
SETUP_PY = CORE_DIR.parents[1] / "setup.py"


def test_decimal_module_is_an_extension_module():
    assert decimal_mod.__file__.endswith(EXTENSION_SUFFIXES)
    assert isinstance(decimal_mod.__loader__, importlib.machinery.ExtensionFileLoader)


def test_every_pyx_is_built_as_an_extension():
    # .pyx sources ship as package data (editable or not), so each must have a compiled twin,
    # wherever in the package it lives.
    package = CORE_DIR.parent
    names = sorted(".".join(p.relative_to(package.parent).with_suffix("").parts)
                   for p in package.rglob("*.pyx"))
    assert "velostream._core.decimal" in names and "velostream._core.textparse" in names
    for name in names:
        module = importlib.import_module(name)
        assert module.__file__.endswith(EXTENSION_SUFFIXES), module.__file__


def _setup_extensions(root: pathlib.Path, monkeypatch, **env) -> dict:
    """The extensions setup.py declares for the tree at ``root`` (run without building)."""
    import Cython.Build
    import setuptools

    declared = {}
    monkeypatch.setattr(Cython.Build, "cythonize", lambda exts, **options: (exts, options))
    monkeypatch.setattr(setuptools, "setup", lambda **kw: declared.update(kw))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    shutil.copy(SETUP_PY, root / "setup.py")
    runpy.run_path(str(root / "setup.py"))
    extensions, options = declared["ext_modules"]
    declared["cythonize"] = options
    declared["by_name"] = {e.name: e for e in extensions}
    return declared


def test_setup_compiles_pyx_modules_wherever_they_belong(tmp_path, monkeypatch):
    for path in ("velostream/_core/batch.pyx", "velostream/_core/kernels_py.pyx",
                 "velostream/formats/_avro.pyx", "velostream/formats/deep/_x.pyx",
                 "velostream/formats/avro.py", "elsewhere/y.pyx"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("")
    monkeypatch.delenv("VELOSTREAM_CYTHON_TRACE", raising=False)
    monkeypatch.delenv("CFLAGS", raising=False)
    declared = _setup_extensions(tmp_path, monkeypatch, VELOSTREAM_BUILD_JOBS="3")
    by_name = declared["by_name"]
    assert sorted(by_name) == ["velostream._core.batch", "velostream._core.kernels_py",
                               "velostream.formats._avro", "velostream.formats.deep._x"]
    assert by_name["velostream.formats._avro"].sources == ["velostream/formats/_avro.pyx"]
    # the per-module optimisation and the parallel build still apply
    assert by_name["velostream._core.kernels_py"].extra_compile_args == ["-O1", "-g0"]
    assert by_name["velostream.formats._avro"].extra_compile_args == ["-O2", "-g0"]
    assert declared["options"]["build_ext"]["parallel"] == 3
    assert declared["cythonize"]["nthreads"] == 3
    # incremental: generated C under build/cython/<mode>, not regenerated when up to date
    assert declared["cythonize"]["build_dir"] == os.path.join("build", "cython", "release")
    assert declared["cythonize"]["force"] is False


def test_setup_switches_trace_and_annotate(tmp_path, monkeypatch):
    (tmp_path / "velostream/formats").mkdir(parents=True)
    (tmp_path / "velostream/formats/_avro.pyx").write_text("")
    declared = _setup_extensions(tmp_path, monkeypatch, VELOSTREAM_CYTHON_TRACE="1",
                                 VELOSTREAM_CYTHON_ANNOTATE="1")
    ext = declared["by_name"]["velostream.formats._avro"]
    assert ("CYTHON_TRACE", "1") in ext.define_macros and "-g" in ext.extra_compile_args
    assert declared["cythonize"]["compiler_directives"]["linetrace"] is True
    assert declared["cythonize"]["annotate"] is True and declared["cythonize"]["force"] is True
    assert declared["cythonize"]["build_dir"] == os.path.join("build", "cython", "trace")


def test_scaled_integer_is_an_extension_type():
    assert type(ScaledInteger).__name__ == "type"
    assert ScaledInteger.__module__ == "velostream._core.decimal"
    value = ScaledInteger("1.5")
    assert not hasattr(value, "__dict__")
    # Fields are C members, read-only from Python.
    with pytest.raises(AttributeError):
        value.mantissa = 3
    with pytest.raises(AttributeError):
        value.other = 1
    # Static (non-heap) type: Python-level classes, with or without __slots__, are heap types.
    py_tpflags_heaptype = 1 << 9
    assert not ScaledInteger.__flags__ & py_tpflags_heaptype


def test_scaled_integer_is_final():
    with pytest.raises(TypeError):
        type("Sub", (ScaledInteger,), {})


def test_c_api_is_exported_for_cimport():
    capi = decimal_mod.__pyx_capi__
    for name in ("si_parse", "si_format", "si_box", "si_raise"):
        assert name in capi


def test_decimal_overflow_is_a_velostream_error():
    from velostream._core.decimal import DecimalOverflow
    from velostream.errors import VelostreamError

    # The CLI prints VelostreamErrors plainly; an overflow must not look like an internal error.
    assert issubclass(DecimalOverflow, VelostreamError)
    assert issubclass(DecimalOverflow, OverflowError)
