#!/usr/bin/env bash
# Runs the test suite against velostream's Cython extensions built with AddressSanitizer.
#
#   scripts/asan.sh [pytest args]              build a copy of this tree under build/asan/ with
#                                              -fsanitize=address, run its tests there
#   scripts/asan.sh --reuse [pytest args]      run the tests of the copy built last time
#   scripts/asan.sh --installed [pytest args]  only run the tests, against the velostream already
#                                              importable (tox -e asan builds it as a wheel)
#
# Needs gcc's libasan (Debian/Ubuntu: part of gcc). The extensions are built through setup.py's
# normal path: distutils appends $CFLAGS and $LDFLAGS to its compile and link commands, so no
# switch in setup.py is needed. The interpreter is not sanitized, so libasan is preloaded, and:
#   detect_leaks=0            CPython keeps objects alive until exit by design;
#   PYTHONMALLOC=malloc       objects and array buffers come from malloc (not pymalloc arenas), so
#                             ASan sees overflows of column buffers as well;
#   allocator_may_return_null a huge allocation (LPAD to 100 GB) is a MemoryError as without ASan,
#                             not an ASan abort.
# ASan sees out-of-bounds accesses and use-after-free; it does NOT see reads of uninitialised
# malloc'd memory (that takes valgrind memcheck or MSan; see tests/fuzz/README.md).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python}"
LIBASAN="$(gcc -print-file-name=libasan.so)"
[ -e "$LIBASAN" ] || { echo "asan.sh: gcc has no libasan.so" >&2; exit 2; }
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1:abort_on_error=0:print_summary=1}"
export PYTHONMALLOC=malloc

check_sanitized() {
    # A build that reused unsanitized objects would pass silently: check every extension.
    (cd "${1:-/}" && LD_PRELOAD="$LIBASAN" "$PYTHON" - <<'PY'
import glob, os, sys
import velostream._core.batch as b
here = os.path.dirname(b.__file__)
plain = [p for p in glob.glob(os.path.join(here, "*.so"))
         if b"__asan_init" not in open(p, "rb").read()]
if plain:
    sys.exit(f"asan.sh: not built with -fsanitize=address: {plain}")
print(f"asan.sh: testing the sanitized extensions in {here}", file=sys.stderr)
PY
    )
}

if [ "${1:-}" = "--installed" ]; then
    shift
    check_sanitized /
    # The pytest script, not python -m (which would put this tree, and any unsanitized in-place
    # build, first on sys.path); append: the installed package wins, as in tox -e py.
    cd "$ROOT"
    LD_PRELOAD="$LIBASAN" pytest -q -p no:cacheprovider --import-mode=append "$@"
    exit
fi

COPY="$ROOT/build/asan/src"
if [ "${1:-}" = "--reuse" ] && [ -d "$COPY" ]; then
    shift
    cd "$COPY"
else
    rm -rf "$COPY"
    mkdir -p "$COPY"
    # The tracked and new files of this tree, without built extensions or the venv.
    (cd "$ROOT" && git ls-files -co --exclude-standard -z | grep -zv '\.so$' |
        xargs -0 cp --parents -t "$COPY")
    cd "$COPY"
    echo "asan.sh: building the extensions with -fsanitize=address in $COPY" >&2
    CFLAGS="-fsanitize=address -fno-omit-frame-pointer -g" LDFLAGS="-fsanitize=address" \
        "$PYTHON" setup.py -q build_ext --inplace --force -j "${JOBS:-2}" >&2
fi
check_sanitized "$COPY"
LD_PRELOAD="$LIBASAN" "$PYTHON" -m pytest -q -p no:cacheprovider "$@"
