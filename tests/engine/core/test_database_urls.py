"""A database URL that names no database Rapport can open is refused as the user's
mistake (exit 1, at its line in config.yaml, or naming RAPPORT_DATABASE_URL), before a
connection is tried, never as a runtime failure (exit 3).

``sqlite://var/rapport.db`` (two slashes: ``var`` read as a host) reached the command as
'unexpected error in db upgrade: sqlalchemy.exc.ArgumentError', and ``rapport db current``
answered it with 'no database file at rapport.db yet', exit 0. A PostgreSQL port beyond
65535 (or 0) was 'database error: connection is bad: invalid port number', exit 3.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import config_problems, run_rapport

TWO_SLASHES = ["sqlite://var/rapport.db", "sqlite://localhost/var/rapport.db"]
BAD_PORTS = [
    "postgresql://rapport:s3cret-pw@127.0.0.1:99999/rapport",
    "postgresql://rapport:s3cret-pw@127.0.0.1:65536/rapport",
    "postgresql://rapport:s3cret-pw@127.0.0.1:0/rapport",
]


@pytest.mark.parametrize("url", TWO_SLASHES)
@pytest.mark.parametrize("command", [("db", "upgrade"), ("db", "current")])
def test_a_sqlite_url_with_a_host_is_refused_naming_the_variable(
    tmp_path: Path, url: str, command: tuple[str, ...]
) -> None:
    ran = run_rapport(*command, cwd=tmp_path, env={"RAPPORT_DATABASE_URL": url})
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "RAPPORT_DATABASE_URL" in ran.stderr and "sqlite:///" in ran.stderr
    assert "unexpected error" not in ran.stderr
    assert not list(tmp_path.rglob("*.db"))


@pytest.mark.parametrize("url", TWO_SLASHES)
def test_a_sqlite_url_with_a_host_is_refused_at_its_line(tmp_path: Path, url: str) -> None:
    found = config_problems(tmp_path, f"database:\n  url: {url}\n")
    assert len(found) == 1 and found[0].startswith("2: database.url: "), found
    assert "sqlite:///" in found[0]


@pytest.mark.parametrize("url", BAD_PORTS)
def test_a_database_url_whose_port_is_out_of_range_is_a_configuration_error(
    tmp_path: Path, url: str
) -> None:
    ran = run_rapport("db", "current", cwd=tmp_path, env={"RAPPORT_DATABASE_URL": url})
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "RAPPORT_DATABASE_URL): not a usable database URL" in ran.stderr
    assert "s3cret-pw" not in ran.stderr and "database error" not in ran.stderr


@pytest.mark.parametrize("url", BAD_PORTS)
def test_a_database_url_whose_port_is_out_of_range_is_refused_at_its_line(
    tmp_path: Path, url: str
) -> None:
    found = config_problems(tmp_path, f"database:\n  url: {url}\n")
    assert len(found) == 1 and found[0].startswith("2: database.url: not a usable"), found
    assert "s3cret-pw" not in found[0]


@pytest.mark.parametrize("command", [("db", "upgrade"), ("db", "current"), ("api-token", "list")])
def test_a_sqlite_url_naming_a_file_that_is_no_database_says_so(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """``sqlite:////etc/passwd``, or a CSV export named by mistake: SQLite's 'file is
    not a database' was 'unexpected error in db upgrade: sqlalchemy.exc.DatabaseError',
    as if Rapport had a bug. Exit 3 (the database cannot be used), saying which URL."""
    (tmp_path / "customers.csv").write_text("id,locale,timezone\n" * 200, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'customers.csv'}"
    ran = run_rapport(*command, cwd=tmp_path, env={"RAPPORT_DATABASE_URL": url})
    assert ran.returncode == 3, ran.stdout + ran.stderr
    assert ran.stderr == (
        "error: database error: file is not a database: database.url (or "
        "RAPPORT_DATABASE_URL) names a file that is not a SQLite database\n"
    )
    assert (tmp_path / "customers.csv").read_text("utf-8").startswith("id,locale")


NO_NAME = ["postgresql://postgres@127.0.0.1:5432/", "postgresql://postgres@127.0.0.1:5432"]


@pytest.mark.parametrize("url", NO_NAME)
def test_a_postgresql_url_without_a_database_name_is_refused_naming_the_variable(
    tmp_path: Path, url: str
) -> None:
    """Without a name PostgreSQL connects to the database named like the user (here the
    maintenance database 'postgres'), and db upgrade created Rapport's tables there.
    Checked with db current, which writes nothing where the URL leads."""
    ran = run_rapport("db", "current", cwd=tmp_path, env={"RAPPORT_DATABASE_URL": url})
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "RAPPORT_DATABASE_URL): a PostgreSQL URL names its database" in ran.stderr


def test_a_postgresql_url_without_a_name_opens_the_database_pgdatabase_names(
    tmp_path: Path, postgres_url: str
) -> None:
    """docs/configuration.md: a name in PGDATABASE counts, as libpq reads it; the URL
    without a name is then no mistake, and db current reads that database."""
    base, _, name = postgres_url.rpartition("/")
    env = {"RAPPORT_DATABASE_URL": base + "/", "PGDATABASE": name}
    ran = run_rapport("db", "current", cwd=tmp_path, env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "names its database" not in ran.stderr


@pytest.mark.parametrize("url", NO_NAME)
def test_a_postgresql_url_without_a_database_name_is_refused_at_its_line(
    tmp_path: Path, url: str
) -> None:
    found = config_problems(tmp_path, f"database:\n  url: {url}\n")
    assert len(found) == 1, found
    assert found[0].startswith("2: database.url: a PostgreSQL URL names its database")


@pytest.mark.parametrize("command", [("db", "upgrade"), ("db", "current")])
def test_a_sqlite_url_naming_a_folder_is_refused_saying_so(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """It was 'database error: unable to open database file', exit 3, naming nothing."""
    (tmp_path / "var").mkdir()
    for url in (f"sqlite:///{tmp_path / 'var'}", f"sqlite:///{tmp_path / 'var'}/"):
        ran = run_rapport(*command, cwd=tmp_path, env={"RAPPORT_DATABASE_URL": url})
        assert ran.returncode == 1, ran.stdout + ran.stderr
        assert f"{tmp_path / 'var'} is a folder: name the database file in it" in ran.stderr
    assert list((tmp_path / "var").iterdir()) == []


def test_a_sqlite_url_naming_no_file_is_refused(tmp_path: Path) -> None:
    """sqlite:/// is the config file's folder: refused as a folder from the variable,
    and at its line in config.yaml."""
    ran = run_rapport("db", "current", cwd=tmp_path, env={"RAPPORT_DATABASE_URL": "sqlite:///"})
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "is a folder: name the database file in it" in ran.stderr
    found = config_problems(tmp_path, 'database:\n  url: "sqlite:///"\n')
    assert len(found) == 1 and found[0].startswith("2: database.url: a SQLite URL names its file")


@pytest.mark.parametrize("url", ["sqlite:///x.db ", " sqlite:///x.db", "sqlite:///x.db\n"])
def test_a_database_url_with_spaces_around_it_is_refused_saying_so(
    tmp_path: Path, url: str
) -> None:
    """A trailing space (an .env file, a copied line) named the file 'x.db ': db upgrade
    made a second, empty database beside the real one; a leading one was refused as
    'not a usable database URL', which did not say why."""
    ran = run_rapport("db", "upgrade", cwd=tmp_path, env={"RAPPORT_DATABASE_URL": url})
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "RAPPORT_DATABASE_URL): begins or ends with a space or line break" in ran.stderr
    assert list(tmp_path.iterdir()) == []
    found = config_problems(tmp_path, f"database:\n  url: {json.dumps(url)}\n")
    assert len(found) == 1 and "begins or ends with a space or line break" in found[0], found


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres@127.0.0.1:5432/?dbname=",
        "postgresql://postgres@127.0.0.1:5432/?application_name=mydbname=x",
    ],
    ids=["empty dbname", "dbname= inside another parameter"],
)
def test_a_postgresql_url_whose_dbname_parameter_names_nothing_is_refused(
    tmp_path: Path, url: str
) -> None:
    """An empty ?dbname= is no name: libpq then connects to the database named like the
    user, as with none."""
    found = config_problems(tmp_path, f"database:\n  url: {url}\n")
    assert len(found) == 1, found
    assert found[0].startswith("2: database.url: a PostgreSQL URL names its database")


@pytest.mark.parametrize(
    "url", ["sqlite:///var/rapport.db?timout=30", "sqlite:///var/rapport.db?mode=ro"]
)
def test_a_sqlite_url_parameter_sqlite_would_ignore_is_refused_at_its_line(
    tmp_path: Path, url: str
) -> None:
    """The driver ignored it with a warning in the log: a misspelt timeout, or a
    read-only mode without uri=true, loaded and did nothing."""
    (problem,) = config_problems(tmp_path, f"database:\n  url: '{url}'\n")
    assert problem.startswith("2: database.url: ") and "parameter" in problem


@pytest.mark.parametrize(
    "url", ["sqlite:///var/rapport.db?timeout=30", "sqlite:///var/r.db?mode=ro&uri=true"]
)
def test_a_sqlite_url_with_parameters_the_driver_reads_loads(tmp_path: Path, url: str) -> None:
    from rapport.engine.core.config import load_settings

    config = tmp_path / "config.yaml"
    config.write_text(f"database:\n  url: '{url}'\n", encoding="utf-8")
    assert load_settings(config, environ={}).database.url == url
