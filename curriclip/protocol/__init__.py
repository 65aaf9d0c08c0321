"""The select-then-confirm protocol: pick each arm's winner on validate, re-run it on fresh paired seeds, judge on test.

``select`` picks winners and plans confirm runs, ``confirm`` runs them on Ray Tune,
``tables`` writes ``confirm.parquet``/``per_pair.parquet``/``answer.json``, and
``answer`` turns paired runs into verdicts with ``curriclip.stats``.
"""
