"""Valgrind memcheck over velostream: finds reads of uninitialised memory, which ASan cannot.

    python scripts/memcheck.py [SCRIPT]        (from the repository root)

Runs SCRIPT (default: the decoding cases below) under ``valgrind --track-origins=yes`` with
``PYTHONMALLOC=malloc`` (so Python objects and column buffers are malloc blocks valgrind tracks)
and prints each distinct error whose stack or origin is in velostream's extensions, with its
count; CPython's own (known, harmless) reports are left out. Exit status 1 when there is one.
Slow (~20x): give it small, targeted inputs, not the test suite.
"""

import os
import re
import subprocess
import sys
import tempfile

CASES = r'''
from velostream.formats import CsvDecoder, JsonDecoder
BIGINT = {"a": "BIGINT"}
print(CsvDecoder(declared=BIGINT).decode(b"k,a\n1,5\n2,0.0000000000000000000\n3,7\n").batch.to_pylist())
print(JsonDecoder(declared=BIGINT).decode_lines(
    b'{"k":1,"a":5}\n{"k":2,"a":0.0000000000000000000}\n{"k":3,"a":7}\n').batch.to_pylist())
print(CsvDecoder().decode(b'a,b\n1,12" pizza\n2.50,"x\ny"\n,\n').batch.to_pylist())
print(JsonDecoder().decode_lines(b'{"a":1.5,"b":[1,{"c":2}]}\n{"a":2,"b":null}\nbad\n').batch.to_pylist())
'''

ERROR = re.compile(r"==\d+== (?=Conditional jump|Use of uninit|Invalid (?:read|write)|"
                   r"Syscall param|Mismatched free|Invalid free)")
OURS = re.compile(r"(__pyx_\w*velostream\w*) \(([\w.]+:\d+)\)")


def main(argv):
    script = argv[1] if len(argv) > 1 else None
    with tempfile.TemporaryDirectory() as tmp:
        if script is None:
            script = os.path.join(tmp, "cases.py")
            with open(script, "w") as out:
                out.write(CASES)
        log = os.path.join(tmp, "valgrind.log")
        # From the repository root: the script imports this tree's (compiled) velostream.
        path = os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")]))
        env = dict(os.environ, PYTHONMALLOC="malloc", PYTHONPATH=path)
        subprocess.run(["valgrind", "--track-origins=yes", "--error-limit=no",
                        f"--log-file={log}", sys.executable, script], env=env, check=False)
        with open(log) as handle:
            text = handle.read()
    found = {}
    for block in ERROR.split(text)[1:]:
        kind = block.split("\n", 1)[0]
        use, _, origin = block.partition("Uninitialised value was created")
        frames = tuple(f"{m[0]} ({m[1]})" for m in OURS.findall(use)[:3])
        origins = tuple(f"{m[0]} ({m[1]})" for m in OURS.findall(origin)[:3])
        if frames or origins:
            key = (kind, frames, origins)
            found[key] = found.get(key, 0) + 1
    for (kind, frames, origins), count in found.items():
        print(f"{count}x {kind}")
        for frame in frames:
            print(f"    at {frame}")
        for frame in origins:
            print(f"    allocated by {frame}")
    print(f"memcheck: {len(found)} distinct error(s) in velostream")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
