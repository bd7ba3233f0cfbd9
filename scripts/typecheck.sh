#!/usr/bin/env bash
# Type-check engine/, consent/ and channels/ with mypy (scripts/test.sh runs this).
#
# The import names are rapport.engine..., rapport.consent..., rapport.channels...,
# mapped from the top-level folders by pyproject's package-dir, a mapping mypy cannot
# read from the source tree. So this builds a tree of links under build/typecheck/
# (rapport/engine -> ../../engine and so on), runs mypy there with the repository's
# pyproject.toml as its configuration, and prints the paths as they are in the
# repository (engine/..., not rapport/engine/...). Exits non-zero when mypy finds an
# error. Extra arguments go to mypy.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tree=build/typecheck
mkdir -p "$tree/rapport"
cp rapport/__init__.py "$tree/rapport/__init__.py"
for folder in engine consent channels migrations; do
  ln -sfn "$root/$folder" "$tree/rapport/$folder"
done
cd "$tree"
set +e
"$root/.venv/bin/mypy" --config-file "$root/pyproject.toml" \
  -p rapport.engine -p rapport.consent -p rapport.channels "$@" 2>&1 |
  sed -E 's#^rapport/(engine|consent|channels|migrations)/#\1/#'
status=${PIPESTATUS[0]}
set -e
exit "$status"
