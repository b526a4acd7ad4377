"""The shipped LALR tables match the grammar, and the grammar has no conflicts or unused symbols."""

from ply import yacc

from velostream.grammar import build_tables, parser


def test_shipped_parse_tables_are_fresh():
    assert build_tables.shipped_signature() == build_tables.grammar_signature(), (
        "velostream/grammar/_parsetab.py is stale: run python -m velostream.grammar.build_tables")


def test_grammar_has_no_conflicts_or_warnings(tmp_path):
    class Log:
        def __init__(self):
            self.lines = []

        def warning(self, msg, *args, **kwargs):
            self.lines.append(msg % args)

        error = warning

        def info(self, *args, **kwargs):
            pass

        debug = critical = info

    log = Log()
    yacc.yacc(module=parser, start="start", write_tables=False, debug=False, errorlog=log,
              outputdir=str(tmp_path))
    real = [line for line in log.lines if "Generating LALR tables" not in line]
    assert real == []


def test_loading_the_parser_does_not_regenerate_tables(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("parse tables were regenerated at import")

    monkeypatch.setattr(yacc.LRGeneratedTable, "__init__", forbidden)
    assert parser._build_parser() is not None
