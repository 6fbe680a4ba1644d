"""The benchmark suite: claude_magic beside the hand-written SDK script, against the stand-in.

``make bench`` (``python -m benchmarks``) runs it and writes ``build/bench/results.json`` and
``build/bench/results.md``. ``load_ext.py`` and ``first_output.py`` are the older, stand-alone
start-up and first-output measurements; their figures are part of the suite too.
"""
