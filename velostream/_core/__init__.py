"""Compiled core of velostream: Cython extension modules for the per-record hot path.

Each ``*.pyx`` here is built by ``setup.py`` into ``velostream._core.<name>``; its ``.pxd``
beside it is the C-level API that other core modules ``cimport``. Import the modules you need
directly (``from velostream._core.decimal import ScaledInteger``): this package imports nothing
so that loading one extension does not load them all.

This is the ground floor: its modules import only each other and ``velostream.errors``, never
the planner, the runtime or anything above (tests/core/test_layers.py checks it). What both
layers need — the text rules of timestamps, numbers and booleans (``textparse``) — lives here.
"""
