"""The Cython core is really compiled: extension modules, static extension types, a C API capsule.

Guards against a build that silently falls back to importing ``.pyx`` sources as Python (or to a
stale pure-Python shim), which would pass the behaviour tests while being orders slower.
"""

import importlib
import importlib.machinery
import pathlib

import pytest

import velostream._core
import velostream._core.decimal as decimal_mod
from velostream._core.decimal import ScaledInteger

EXTENSION_SUFFIXES = tuple(importlib.machinery.EXTENSION_SUFFIXES)
CORE_DIR = pathlib.Path(velostream._core.__file__).parent


def test_decimal_module_is_an_extension_module():
    assert decimal_mod.__file__.endswith(EXTENSION_SUFFIXES)
    assert isinstance(decimal_mod.__loader__, importlib.machinery.ExtensionFileLoader)


def test_every_pyx_is_built_as_an_extension():
    # .pyx sources ship as package data (editable or not), so each must have a compiled twin.
    names = sorted(p.stem for p in CORE_DIR.glob("*.pyx"))
    assert "decimal" in names
    for name in names:
        module = importlib.import_module(f"velostream._core.{name}")
        assert module.__file__.endswith(EXTENSION_SUFFIXES), module.__file__


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
