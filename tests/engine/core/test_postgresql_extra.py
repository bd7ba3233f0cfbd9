"""PostgreSQL support is the ``postgresql`` extra: without psycopg, a postgresql:// URL
is refused with the line that installs it, exit 2, no traceback (README, Quick start;
docs/operations.md, Installing). The missing module is simulated in a child process.
A URL naming another driver (``postgresql+psycopg2://``) is refused alike, naming
psycopg 3 and the URLs Rapport takes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from factories import run_rapport

from rapport.engine.core.db import UnsupportedDriver, make_engine

#: Runs the console script's entry point with psycopg made unimportable.
WITHOUT_PSYCOPG = (
    "import sys; sys.modules['psycopg'] = None; sys.argv = ['rapport', *sys.argv[1:]]; "
    "from rapport.engine.cli.main import main; main()"
)


def _rapport_without_psycopg(*args: str, cwd: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env["RAPPORT_DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_PSYCOPG, *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_a_postgresql_url_without_the_extra_says_how_to_install_it(tmp_path: Path) -> None:
    result = _rapport_without_psycopg(
        "db", "upgrade", cwd=tmp_path, url="postgresql://postgres@127.0.0.1:5432/rapport"
    )
    assert result.returncode == 2, result.stderr
    assert "PostgreSQL support is not installed: pip install 'rapport-engine[postgresql]'" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_sqlite_runs_without_the_extra(tmp_path: Path) -> None:
    result = _rapport_without_psycopg(
        "db", "upgrade", cwd=tmp_path, url=f"sqlite:///{tmp_path / 'rapport.db'}"
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("driver", ["psycopg2", "asyncpg", "pg8000", "nosuchdriver"])
def test_a_postgresql_url_naming_another_driver_is_a_usage_error_naming_psycopg_3(
    tmp_path: Path, driver: str
) -> None:
    url = f"postgresql+{driver}://rapport:s3cret-pw@127.0.0.1:5432/rapport"
    ran = run_rapport("db", "upgrade", cwd=tmp_path, env={"RAPPORT_DATABASE_URL": url})
    assert ran.returncode == 2, ran.stderr
    assert f"does not run on the '{driver}' driver" in ran.stderr
    assert "psycopg 3" in ran.stderr and "postgresql+psycopg://" in ran.stderr
    assert "pip install 'rapport-engine[postgresql]'" in ran.stderr
    assert "s3cret-pw" not in ran.stderr and "unexpected error" not in ran.stderr


def test_a_sqlite_url_naming_another_driver_is_refused_alike(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedDriver, match="SQLite as sqlite:///PATH"):
        make_engine(f"sqlite+pysqlcipher:///{tmp_path / 'rapport.db'}")


@pytest.mark.parametrize("port", ["notaport", "54 32"])
def test_a_database_url_whose_port_is_not_a_number_is_a_configuration_error(
    tmp_path: Path, port: str
) -> None:
    """SQLAlchemy's URL parser raises ValueError on such a port, which reached the
    command as 'unexpected error in dispatch: ValueError: invalid literal for int()',
    exit 3, instead of the URL's own message, exit 1."""
    url = f"postgresql://rapport:s3cret-pw@127.0.0.1:{port}/rapport"
    ran = run_rapport("dispatch", "--once", cwd=tmp_path, env={"RAPPORT_DATABASE_URL": url})
    assert ran.returncode == 1, ran.stderr
    assert "RAPPORT_DATABASE_URL): not a usable database URL" in ran.stderr
    assert "s3cret-pw" not in ran.stderr and "unexpected error" not in ran.stderr
