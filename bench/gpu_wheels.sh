#!/usr/bin/env bash
# Wheels of lrsearch's dependencies that the lent GPU machine's image lacks (it has torch,
# torchvision, numpy, scipy, pyyaml, click, rich, narwhals and typing-extensions), for its
# Python 3.12 on x86-64, into .whl/ (git-ignored). Run it here, where PyPI is reachable, then
# carry .whl to the GPU machine (bench/gpu_check.py says how). The versions are this venv's.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
names=(optuna optuna-dashboard pydantic pydantic_core annotated-types typing-inspection
       sqlalchemy alembic mako markupsafe colorlog plotly schedulefree cmaes bottle
       tqdm)
pins=()
for name in "${names[@]}"; do
    version=$("$PYTHON" -m pip show "$name" 2>/dev/null | sed -n "s/^Version: //p" || true)
    if [ -n "$version" ]; then pins+=("$name==$version"); else pins+=("$name"); fi
done
mkdir -p .whl
"$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux1_x86_64 -d .whl "${pins[@]}"
du -sh .whl
