#!/usr/bin/env bash
# Set up and run the demo on the embedded SQLite store (README, quick start, first command).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/rapport demo "$@"
