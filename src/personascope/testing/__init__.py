"""Helpers for tests, benchmarks and examples that exercise personascope for real.

* :mod:`~personascope.testing.planted`: the planted respondent (answers follow a known
  trait profile), the truth that scoring must recover;
* :mod:`~personascope.testing.contexts`: study contexts on the embedded models;
* :mod:`~personascope.testing.servers`: real llama.cpp servers and scripted proxies on
  loopback;
* :mod:`~personascope.testing.clitools`: the ``personascope`` command in a subprocess.

Nothing here is imported by the library itself; import the module you need.
"""
