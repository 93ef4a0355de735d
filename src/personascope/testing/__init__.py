"""Helpers for tests, benchmarks and examples that exercise personascope for real.

* :mod:`~personascope.testing.fake`: the ``fake/`` provider, deterministic registered
  behaviours that run through the real runner and store (``fake_runner``);
* :mod:`~personascope.testing.planted`: the planted respondent (answers follow a known
  trait profile), the truth that scoring must recover;
* :mod:`~personascope.testing.contexts`: study contexts on the embedded models;
* :mod:`~personascope.testing.servers`: real llama.cpp servers and scripted proxies on
  loopback;
* :mod:`~personascope.testing.clitools`: the ``personascope`` command in a subprocess.

The library imports nothing from here (the provider registry names ``fake/`` by import
path); import the module you need.
"""
