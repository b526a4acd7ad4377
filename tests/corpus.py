"""The product documents' SQL (shared/corpus/seed-sql) as tests see it: the folder, and which
files are fragments rather than statements. Every test that walks the corpus uses this list, so a
file that stops parsing fails instead of being skipped."""

from pathlib import Path


def _find_corpus() -> Path:
    # shared/ sits beside the checkout (/work/main → /work/shared); a worktree one level deeper
    # (/work/wt/NAME) finds it beside an ancestor. The first candidate is named when none exists.
    here = Path(__file__).resolve().parents[1]
    candidates = [parent / "shared" / "corpus" / "seed-sql" for parent in here.parents]
    return next((c for c in candidates if c.is_dir()), candidates[0])


CORPUS = _find_corpus()

# Files that are not SQL statements in the documents themselves; tests/grammar/test_corpus.py
# checks each still FAILS to parse, so this list cannot silently outlive its reason.
FRAGMENTS = {
    "multi-source-sink-guide-20.sql": "a bare WITH (…) property list shown on its own",
    "multi-source-sink-guide-21.sql": "a bare WITH (…) property list shown on its own",
    "multi-source-sink-guide-22.sql": "two bare WITH (…) lists (high-throughput vs low-latency)",
    "multi-source-sink-guide-23.sql": "a bare WITH (…) property list shown on its own",
    "multi-source-sink-guide-24.sql": "a bare WITH (…) property list shown on its own",
    "multi-source-sink-guide-25.sql": "a bare WITH (…) property list shown on its own",
    "multi-source-sink-guide-26.sql": "a bare WITH (…) property list shown on its own",
    "multi-source-sink-guide-30.sql": "a right and a wrong query side by side with no ';' between",
    "multi-source-sink-guide-31.sql": "troubleshooting snippets: bare WITH lists and a WITHIN clause",
}


def corpus_names() -> list[str]:
    """Every corpus file name (empty when shared/ is not beside the checkout)."""
    return sorted(p.name for p in CORPUS.glob("*.sql")) if CORPUS.is_dir() else []


def statement_names() -> list[str]:
    """Corpus files that hold statements (all but the listed fragments)."""
    return [name for name in corpus_names() if name not in FRAGMENTS]


def corpus_text(name: str) -> str:
    """The text of corpus file ``name``; the test is skipped when shared/ is not beside the
    checkout (a clean clone in CI), and fails when the corpus is there without that file."""
    import pytest

    if not CORPUS.is_dir():
        pytest.skip(f"the corpus is not beside this checkout ({CORPUS})")
    return (CORPUS / name).read_text()
