#!/usr/bin/env bash
# Create .venv and install Rapport into it (with the test tools and PostgreSQL support
# when given "test"; the demo needs neither).
# Safe to run again: it only installs what is missing or changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
extra=""
if [ "${1:-}" = "test" ]; then
  # The suite runs on PostgreSQL too (CI requires it), so it needs the extra.
  extra="[postgresql,test]"
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
# The distribution was called "rapport" before it became rapport-engine: an old editable
# install of that name would shadow the new one's command and metadata.
if .venv/bin/python -m pip show --quiet rapport >/dev/null 2>&1; then
  .venv/bin/python -m pip uninstall --quiet --yes rapport
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extra}"
