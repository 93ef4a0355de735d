"""The commands of the ``personascope`` CLI, one module per group; :mod:`personascope.cli`
registers them. Each parses its arguments, calls the library and prints."""
