"""``rapport api-token create|list|revoke`` (issue 19, point 1): the token is printed
once and only its SHA-256 is stored; list never shows it; revoke stops it and keeps
the name taken. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from factories import run_rapport
from sqlalchemy import select

from rapport.engine.core.db import make_engine
from rapport.engine.core.models import API_TOKEN
from rapport.engine.web.api_tokens import token_hash, token_scope


def test_create_list_and_revoke_a_token(migrated_url: str, tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        f"database: {{url: '{migrated_url}'}}\n", encoding="utf-8"
    )
    made = run_rapport("api-token", "create", "shop", "--scope", "ingest", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("rpt_") and "\n" not in token and "not shown again" in made.stderr

    engine = make_engine(migrated_url)
    try:
        with engine.connect() as connection:
            row = connection.execute(select(API_TOKEN)).one()
        assert row.token_hash == token_hash(token) and token not in tuple(map(str, row))
        assert token_scope(engine, token) == ("shop", "ingest")

        listed = run_rapport("api-token", "list", "--json", cwd=tmp_path)
        assert listed.returncode == 0 and token not in listed.stdout
        [entry] = json.loads(listed.stdout)
        assert (entry["name"], entry["scope"], entry["revoked_at"]) == ("shop", "ingest", None)
        plain = run_rapport("api-token", "list", cwd=tmp_path)
        assert plain.stdout.startswith("shop\tingest\t") and "live" in plain.stdout

        again = run_rapport("api-token", "create", "shop", "--scope", "read", cwd=tmp_path)
        assert again.returncode == 1 and "exists already" in again.stderr
        bad = run_rapport("api-token", "create", "crm", "--scope", "admin", cwd=tmp_path)
        assert bad.returncode == 2

        revoked = run_rapport("api-token", "revoke", "shop", cwd=tmp_path)
        assert revoked.returncode == 0 and "revoked" in revoked.stdout
        assert token_scope(engine, token) is None
        assert run_rapport("api-token", "revoke", "shop", cwd=tmp_path).returncode == 0
        assert run_rapport("api-token", "revoke", "nobody", cwd=tmp_path).returncode == 1
        assert "revoked" in run_rapport("api-token", "list", cwd=tmp_path).stdout
    finally:
        engine.dispose()


def test_a_token_name_with_control_characters_is_refused(migrated_url: str, tmp_path: Path) -> None:
    """'evil\\x1b]0;pwned\\x07' was stored, and api-token list then printed it raw: the
    escape retitled the operator's terminal; a line break split the list's row."""
    env = {"RAPPORT_DATABASE_URL": migrated_url}
    for name in ("evil\x1b]0;pwned\x07", "shop\nother", "shop\tx", "a\u202eb"):
        ran = run_rapport("api-token", "create", name, "--scope", "read", cwd=tmp_path, env=env)
        assert ran.returncode == 1, ran.stdout + ran.stderr
        assert "a token's name may not hold control characters" in ran.stderr
        assert "\x1b" not in ran.stderr
    listed = run_rapport("api-token", "list", cwd=tmp_path, env=env)
    assert listed.stdout == "no API tokens\n"


def test_api_token_list_shows_a_stored_name_s_control_characters_escaped(
    migrated_url: str, tmp_path: Path
) -> None:
    """A name stored before names were checked is shown, not obeyed."""
    engine = make_engine(migrated_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                API_TOKEN.insert().values(
                    name="old\x1b[2J", scope="read", token_hash="0" * 64,
                    created_at=datetime(2026, 1, 1, tzinfo=UTC),
                )
            )  # fmt: skip
    finally:
        engine.dispose()
    env = {"RAPPORT_DATABASE_URL": migrated_url}
    listed = run_rapport("api-token", "list", cwd=tmp_path, env=env)
    assert listed.stdout.startswith("old\\x1b[2J\tread\t")


def test_a_token_name_holding_a_unicode_line_or_paragraph_separator_is_refused(
    migrated_url: str, tmp_path: Path
) -> None:
    """docs/api.md: a name has no line breaks (list prints it). U+2028 and U+2029 are
    line breaks too (str.splitlines splits on them): 'shop\\u2028other' was stored and
    list printed it raw, its row broken on a terminal that honours them."""
    env = {"RAPPORT_DATABASE_URL": migrated_url}
    for name in ("shop\u2028other", "shop\u2029other"):
        ran = run_rapport("api-token", "create", name, "--scope", "read", cwd=tmp_path, env=env)
        assert ran.returncode == 1, ran.stdout + ran.stderr
        assert "line breaks" in ran.stderr
    assert run_rapport("api-token", "list", cwd=tmp_path, env=env).stdout == "no API tokens\n"


def test_a_token_name_is_1_to_100_characters(migrated_url: str, tmp_path: Path) -> None:
    """docs/api.md: a name is 1 to 100 characters; empty, blank or 101 is exit 1."""
    env = {"RAPPORT_DATABASE_URL": migrated_url}
    for name in ("", "   ", "x" * 101):
        ran = run_rapport("api-token", "create", name, "--scope", "read", cwd=tmp_path, env=env)
        assert ran.returncode == 1, ran.stdout + ran.stderr
        assert "a token's name must be 1 to 100 characters" in ran.stderr
    ran = run_rapport("api-token", "create", "x" * 100, "--scope", "read", cwd=tmp_path, env=env)
    assert ran.returncode == 0, ran.stderr
    assert ("x" * 100) in run_rapport("api-token", "list", cwd=tmp_path, env=env).stdout
