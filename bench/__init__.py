"""Rapport's benchmark harness: ``python -m bench [--quick]``.

Generates a seeded data set, runs the broadcast, trickle and repeat scenarios and
delivery into local sinks, measures the same work's ceilings in the same run, and
writes ``bench/results/<timestamp>-<db>-<n>.json`` and ``bench/results/latest.md``.
See docs/benchmarks.md.
"""
