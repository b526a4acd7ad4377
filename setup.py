"""Build script for velostream's Cython extensions; all metadata lives in pyproject.toml.

Every ``.pyx`` under ``velostream/`` becomes the extension named by its path
(``velostream/_core/batch.pyx`` → ``velostream._core.batch``, a ``velostream/formats/_avro.pyx``
→ ``velostream.formats._avro``), so a Cython module lives beside the Python code it serves.
Cython comes from the build requirements (pip's build isolation), so no pre-installed Cython is
needed.

Switches, read from the environment (the idea of asyncpg's ``--cython-annotate`` and
``--cython-directives=linetrace=True``, but as variables because pip passes no options through):

- ``VELOSTREAM_CYTHON_ANNOTATE=1``: also write ``cython -a`` HTML reports (next to the generated
  C under ``build/cython/``) showing which lines still call into the Python C API.
- ``VELOSTREAM_CYTHON_TRACE=1``: compile with ``linetrace`` and the ``CYTHON_TRACE`` macros so
  coverage.py and profilers see ``.pyx`` lines. Much slower code: never for benchmarks.
- ``VELOSTREAM_BUILD_JOBS=N``: modules translated and compiled at once (default: every CPU).

Build time: a clean build is what a new user waits for (README command 1), so both steps run in
parallel — Cython translates the modules in ``nthreads`` processes and ``build_ext`` compiles
them in ``parallel`` threads — and the C flags are chosen per module (``OPTIMISE`` below).
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

# Optimisation per module (GCC/Clang; appended after Python's own CFLAGS, so they win):
# - -O2 for the modules of the hot path (decode → evaluate → encode: the codecs, the column
#   batch, the expression kernels and the ScaledInteger C API they inline) — what the
#   benchmarks (perf/, W1) were measured with. Python's default -O3 compiles slower and is
#   not what they measured.
# - -O1 for kernels_py, the per-row Python functions (strings, JSON paths, formatting, OBJECT
#   values): their time goes into Python C-API calls that the optimiser cannot improve, and
#   -O1 compiles the module in about 60% of the time of -O2.
# - -g0 everywhere: Python's CFLAGS ask for debug info (-g), which costs ~20% of the compile
#   time and megabytes per module; a traced or sanitizer build keeps it (DEBUG below).
OPTIMISE = {"velostream._core.kernels_py": "-O1"}
JOBS = max(1, int(os.environ.get("VELOSTREAM_BUILD_JOBS") or os.cpu_count() or 1))


# A build that asks for debug info itself (scripts/asan.sh, tox -e asan: CFLAGS="-g
# -fsanitize=address") keeps it, so sanitizer reports name .c lines.
DEBUG = TRACE or any(f == "-g" or f.startswith("-fsanitize")
                     for f in os.environ.get("CFLAGS", "").split())


def compile_args(name):
    if sys.platform == "win32":
        return []
    return [OPTIMISE.get(name, "-O2"), "-g" if DEBUG else "-g0"]


def module_name(path):
    """``velostream/formats/_avro.pyx`` → ``velostream.formats._avro``."""
    return os.path.splitext(path)[0].replace("/", ".").replace(os.sep, ".")


# Paths relative to this file: setuptools refuses absolute source paths.
sources = sorted(glob("velostream/**/*.pyx", root_dir=HERE, recursive=True))
extensions = [Extension(module_name(path), [path], define_macros=macros,
                        extra_compile_args=compile_args(module_name(path)))
              for path in sources]

setup(
    options={"build_ext": {"parallel": JOBS}},
    ext_modules=cythonize(
        extensions,
        nthreads=JOBS if JOBS > 1 else 0,
        compiler_directives=directives,
        annotate=ANNOTATE,
        # Generated C goes under build/, one tree per mode: switching TRACE on or off can never
        # leave a stale traced (or untraced) .c to be reused, and the package stays free of .c.
        build_dir=os.path.join("build", "cython", "trace" if TRACE else "release"),
        # cythonize skips up-to-date .c files, which would also skip writing the HTML report.
        force=ANNOTATE,
    ),
)
