"""Every SQL block of the product documents (shared/corpus/seed-sql) parses and round-trips."""

import pytest

from tests.corpus import CORPUS, FRAGMENTS, corpus_names
from velostream.errors import SqlSyntaxError
from velostream.grammar import parse_sql, to_sql


def corpus_files():
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS} (shared/ must sit beside the checkout)")
    return sorted(CORPUS.glob("*.sql"))


@pytest.mark.parametrize("name", corpus_names())
def test_corpus_file_parses_and_round_trips(name):
    path = CORPUS / name
    text = path.read_text()
    if name in FRAGMENTS:
        with pytest.raises(SqlSyntaxError):
            parse_sql(text, name)
        return
    tree = parse_sql(text, name)
    assert tree.statements, f"{name} holds no statement"
    printed = to_sql(tree)
    assert parse_sql(printed) == tree, printed


def test_corpus_is_present_and_complete():
    files = corpus_files()
    assert len(files) >= 60
    names = {p.name for p in files}
    assert set(FRAGMENTS) <= names, "a listed fragment no longer exists in the corpus"
