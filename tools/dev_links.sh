#!/usr/bin/env bash
# A development checkout run from source (PYTHONPATH=<checkout>) needs models/ and third_party/ inside the package,
# where a build installs them: link them there (git ignores the links).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -e aimatrix/models ] || ln -s ../models aimatrix/models
[ -e aimatrix/third_party ] || ln -s ../third_party aimatrix/third_party
