"""Long fuzz runs with atheris (libFuzzer for Python): ``python -m tests.fuzz.run TARGET [ARGS]``.

TARGET is one of ``json``, ``csv``, ``scaled`` (raw bytes into ``tests/fuzz/oracles.py``) or
``expr`` (bytes driving the hypothesis expression test, ``fuzz_one_input``). ARGS go to libFuzzer
(``-atheris_runs=N``, ``-max_total_time=S``, ``-max_len=N``, ...). The seed corpus
``tests/fuzz/corpus/TARGET/`` is read, new inputs are written under ``build/fuzz/TARGET/`` (not
the repository), and a crashing input is written to ``tests/fuzz/crashes/TARGET/`` where
``test_fuzz.py`` replays it in every test run. Needs ``pip install -e '.[fuzz]'``.

The Cython extensions are not compiled with coverage instrumentation, so the feedback comes from
the Python layers (codec wrappers and the oracles); the mutations reach the C code regardless.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["velostream", "tests.fuzz"]):
    from tests.fuzz.test_fuzz import ALL_TARGETS

HERE = Path(__file__).parent
ROOT = HERE.parent.parent

# Defects already filed and being fixed (their crash files are in crashes/ and replayed as
# xfail): a long run counts them instead of stopping, so it can look for new ones. Remove an
# entry when its fix is merged. Each: exception type, text in its message.
KNOWN_DEFECTS: dict = {}


def _guarded(check, known):
    hits = [0] * len(known)

    def run(data: bytes) -> None:
        try:
            check(data)
        except Exception as err:
            for i, (kind, text) in enumerate(known):
                if isinstance(err, kind) and text in str(err):
                    hits[i] += 1
                    # libFuzzer ends with _exit (no atexit): report as hits happen.
                    if hits[i] & (hits[i] - 1) == 0:
                        print(f"known defect {kind.__name__} {text!r} hit {hits[i]} times "
                              f"(not a new crash): {err}"[:300], file=sys.stderr)
                    return
            raise
    return run


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[1] not in ALL_TARGETS:
        sys.exit(f"usage: python -m tests.fuzz.run {{{'|'.join(ALL_TARGETS)}}} [libFuzzer args]")
    target = argv[1]
    check = ALL_TARGETS[target]
    known = [] if "-no_skip_known=1" in argv else KNOWN_DEFECTS.get(target, [])
    argv = [a for a in argv if a != "-no_skip_known=1"]
    if known:
        check = _guarded(check, known)
    work = ROOT / "build" / "fuzz" / target
    crashes = HERE / "crashes" / target
    work.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True, exist_ok=True)
    args = [argv[0], *argv[2:], f"-artifact_prefix={crashes}{os.sep}", str(work),
            str(HERE / "corpus" / target)]
    if not any(a.startswith("-max_len=") for a in args):
        args.insert(1, "-max_len=4096")
    atheris.Setup(args, check)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
