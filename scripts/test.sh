#!/usr/bin/env bash
# Set up, lint, type-check (scripts/typecheck.sh) and run the whole test suite
# (README, quick start, second command; CI runs this).
# The PostgreSQL tests use 127.0.0.1:5432 (user postgres, trust auth); with CI=true
# they must run, and fail rather than skip if the server is unreachable.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
# Browser tests drive Debian's Chromium through Playwright (no browser download); the
# CJK font lets screenshots of Chinese pages show characters instead of empty boxes.
# systemd-analyze checks the unit file docs/operations.md gives.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -d /usr/share/fonts/opentype/noto ] || missing+=(fonts-noto-cjk)
[ -x /usr/bin/systemd-analyze ] || missing+=(systemd)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    # Outside CI a test needing Chromium or systemd-analyze is skipped without it; the
    # browser tests of Chinese pages fail without a CJK font (they check the glyphs).
    echo "note: not installed: ${missing[*]} (sudo apt-get install ${missing[*]});" \
         "outside CI the tests needing chromium or systemd-analyze are skipped, and" \
         "the Chinese pages' browser tests fail without fonts-noto-cjk" >&2
  fi
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
bash scripts/typecheck.sh
# Bytecode is cached (__pycache__, ignored by git) even where the environment says not to
# write it (PYTHONDONTWRITEBYTECODE): otherwise each of the four workers compiled every
# test module and the engine's modules from source while collecting (10.3 s of CPU a
# worker, 4.6 s with the cache), and every rapport process a test starts compiled the
# engine's modules again.
unset PYTHONDONTWRITEBYTECODE
# Four workers, whatever the number of cores: the PostgreSQL, browser and process tests
# mostly wait on another process, so on two cores four workers keep both busy where two
# left them idle; each worker makes its own migrated template databases.
# tests/conftest.py starts the longest tests first (SLOW_FIRST) so none of them is last,
# and a worker that runs out of tests takes some of another's (--dist worksteal): with
# xdist's default, tests sent ahead to a busy worker waited while the others sat idle at
# the end (the whole suite on this machine, quiet, two runs each: 253-257 s; with
# worksteal 206-212 s).
exec .venv/bin/python -m pytest -q -n 4 --dist worksteal "$@"
