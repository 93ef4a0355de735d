"""Diversity, coverage and variance metrics: pure functions, numpy or texts in, numbers out.

``panel.text_panel`` computes every text metric at once (what studies and the CLI call);
``lexical``, ``overlap``, ``syntactic``, ``semantic``, ``coverage`` and ``by_input`` hold
the metrics, ``estimate`` the jackknife intervals, ``matching`` the matched comparisons,
``embedding`` the cached sentence embedder. See docs/metrics.md.
"""
