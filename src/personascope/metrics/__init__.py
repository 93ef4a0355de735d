"""Diversity, coverage and variance metrics: pure functions, numpy or texts in, numbers out."""
