#!/usr/bin/env bash
# Run the whole test suite (after scripts/setup.sh). Installs headless Chromium from
# Debian for the report's browser test when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "test: could not install chromium; the browser test will be skipped" >&2
  fi
fi
.venv/bin/ruff check src tests benchmarks scripts
.venv/bin/lint-imports --no-cache --no-logo  # the import contracts in pyproject.toml
exec .venv/bin/python -m pytest "$@"
