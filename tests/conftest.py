"""Shared pytest configuration for the whole test suite (fixtures used by more than one package)."""

import signal

import pytest


@pytest.fixture
def no_hang():
    """Turns a hang (catastrophic regex backtracking …) into a failure after a minute: a guard
    against a suite that never ends, not a timing assertion."""
    def hung(*_):
        raise AssertionError("did not return within 60 s")
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)
