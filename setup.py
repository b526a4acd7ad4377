"""Build script for velostream's Cython extensions; all metadata lives in pyproject.toml.

Every ``velostream/_core/*.pyx`` becomes the extension ``velostream._core.<name>``. Cython comes
from the build requirements (pip's build isolation), so no pre-installed Cython is needed.

Switches, read from the environment (the idea of asyncpg's ``--cython-annotate`` and
``--cython-directives=linetrace=True``, but as variables because pip passes no options through):

- ``VELOSTREAM_CYTHON_ANNOTATE=1``: also write ``cython -a`` HTML reports (next to the generated
  C under ``build/cython/``) showing which lines still call into the Python C API.
- ``VELOSTREAM_CYTHON_TRACE=1``: compile with ``linetrace`` and the ``CYTHON_TRACE`` macros so
  coverage.py and profilers see ``.pyx`` lines. Much slower code: never for benchmarks.
"""

import os
import sys
from glob import glob

from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _flag(name):
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


ANNOTATE = _flag("VELOSTREAM_CYTHON_ANNOTATE")
TRACE = _flag("VELOSTREAM_CYTHON_TRACE")

directives = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "embedsignature": True,
}
macros = []
if TRACE:
    directives["linetrace"] = True
    macros += [("CYTHON_TRACE", "1"), ("CYTHON_TRACE_NOGIL", "1")]

compile_args = [] if sys.platform == "win32" else ["-O2"]

# Paths relative to this file: setuptools refuses absolute source paths.
sources = sorted(glob("velostream/_core/*.pyx", root_dir=HERE))
extensions = [
    Extension(
        "velostream._core." + os.path.splitext(os.path.basename(path))[0],
        [path],
        define_macros=macros,
        extra_compile_args=compile_args,
    )
    for path in sources
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives=directives,
        annotate=ANNOTATE,
        # Generated C goes under build/, one tree per mode: switching TRACE on or off can never
        # leave a stale traced (or untraced) .c to be reused, and the package stays free of .c.
        build_dir=os.path.join("build", "cython", "trace" if TRACE else "release"),
        # cythonize skips up-to-date .c files, which would also skip writing the HTML report.
        force=ANNOTATE,
    ),
)
