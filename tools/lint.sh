#!/usr/bin/env bash
# The formatters and linters CI runs (.ci/run): ruff (format and lint) on the Python, clang-format on csrc/,
# mypy on the public API (pyproject.toml). `tools/lint.sh --fix` rewrites instead of checking.
set -euo pipefail
cd "$(dirname "$0")/.."
fix=${1:-}
cxx=$(git ls-files 'csrc/*.cpp' 'csrc/*.hpp' 'csrc/*.cu' 'csrc/*.cuh')
if [ "$fix" = "--fix" ]; then
  ruff format .
  ruff check --fix .
  clang-format -i $cxx
else
  ruff format --check .
  ruff check .
  clang-format --dry-run --Werror $cxx
fi
mypy
