"""Regenerates ``_parsetab.py`` (the LALR tables shipped with the package) and reports conflicts.

Run ``python -m velostream.grammar.build_tables`` after changing the grammar; ``--check`` exits 1
when the shipped tables do not match the grammar (the test suite runs the same check).
"""

from __future__ import annotations

import argparse
import io
import os
import sys

from ply import yacc


def grammar_signature() -> str:
    """The signature PLY computes from the grammar rules, precedence and tokens."""
    from velostream.grammar import parser

    pdict = dict(vars(parser), start="start")  # as yacc() sees it when given start=
    info = yacc.ParserReflect(pdict, log=yacc.NullLogger())
    info.get_all()
    return info.signature()


def shipped_signature() -> str | None:
    try:
        from velostream.grammar import _parsetab
    except ImportError:
        return None
    return _parsetab._lr_signature


def build(debug_file: str | None = None) -> list[str]:
    """Write _parsetab.py next to the parser; return PLY's warnings (conflicts included)."""
    from velostream.grammar import parser

    here = os.path.dirname(os.path.abspath(parser.__file__))
    stale = os.path.join(here, "_parsetab.py")
    if os.path.exists(stale):
        os.remove(stale)
    sys.modules.pop("velostream.grammar._parsetab", None)
    log = io.StringIO()
    yacc.yacc(
        module=parser, start="start", tabmodule="_parsetab", outputdir=here,
        write_tables=True, debug=bool(debug_file), debugfile=debug_file or "parser.out",
        errorlog=yacc.PlyLogger(log),
    )
    # PLY logs "Generating LALR tables" as a warning; only real ones (conflicts, unused
    # rules or tokens) are returned.
    return [line for line in log.getvalue().splitlines()
            if line.strip() and "Generating LALR tables" not in line]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--check", action="store_true", help="only check the shipped tables are fresh")
    ap.add_argument("--debug-file", help="also write PLY's state report (parser.out) here")
    args = ap.parse_args(argv)
    if args.check:
        fresh = shipped_signature() == grammar_signature()
        print("parse tables are up to date" if fresh else "parse tables are STALE: rebuild them")
        return 0 if fresh else 1
    warnings = build(args.debug_file)
    for line in warnings:
        print(line)
    print(f"wrote _parsetab.py ({len(warnings)} warnings)")
    return 1 if warnings else 0


if __name__ == "__main__":
    sys.exit(main())
