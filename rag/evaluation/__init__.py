"""Offline evaluation harness behind ``rag eval``: dataset loading, metrics, runner, reports, comparisons.

Everything runs through the public :class:`rag.Engine` API (the same calls the CLI, UI and HTTP API
make), so the figures describe what users get, not a side path. See ``rag.evaluation.runner.main``.
"""
