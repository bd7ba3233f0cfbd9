"""The link-signing key is one per database: every machine on it signs and verifies alike.

Each "machine" is its own base folder (its own ``var/``) with no RAPPORT_SECRET_KEY,
pointed at the same database, as several daemons on one PostgreSQL server are; each
builds its signer as ``runtime.services.signer`` does, from ``secret_key(settings)``.
"""

from __future__ import annotations

import logging
import stat
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from rapport.consent.tokens import Purpose, Signer, TokenClaims
from rapport.engine.core.config import DatabaseConfig, Settings, load_settings
from rapport.engine.core.db import make_engine
from rapport.engine.core.errors import UserError
from rapport.engine.core.keys import SIGNING_KEY, secret_key

CLAIMS = TokenClaims(customer_id="C1", channel="email", topic="offers")


def machine(base: Path, url: str, **changes: object) -> Settings:
    """The settings of one machine: its own folder, the shared database, no env key."""
    base.mkdir(parents=True, exist_ok=True)
    return Settings(base_dir=base, database=DatabaseConfig(url=url), **changes)  # type: ignore[arg-type]


def stored_rows(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(select(SIGNING_KEY.c.secret)).scalars())
    finally:
        engine.dispose()


def test_a_link_signed_on_one_machine_opens_on_another(migrated_url: str, tmp_path: Path) -> None:
    first = machine(tmp_path / "a", migrated_url)
    second = machine(tmp_path / "b", migrated_url)

    token = Signer(secret_key(first)).sign(Purpose.UNSUBSCRIBE, CLAIMS)

    assert Signer(secret_key(second)).verify(Purpose.UNSUBSCRIBE, token) == CLAIMS
    assert stored_rows(migrated_url) == [secret_key(first)]
    assert not (tmp_path / "a" / "var" / "secret.key").exists(), "no key file is written"
    assert not (tmp_path / "b" / "var" / "secret.key").exists()


def test_machines_starting_at_once_agree_on_one_key(migrated_url: str, tmp_path: Path) -> None:
    """Eight first starts at the same moment, each offering a key of its own (an old
    key file): all get the one that was stored."""
    count = 8
    machines = []
    for n in range(count):
        settings = machine(tmp_path / f"m{n}", migrated_url)
        key_file = settings.resolve(settings.secret_key_file)
        key_file.parent.mkdir(parents=True)
        key_file.write_text(f"old-key-of-machine-{n}\n", encoding="ascii")
        machines.append(settings)
    start = threading.Barrier(count)
    found: list[str | BaseException] = [""] * count

    def first_start(n: int) -> None:
        start.wait()
        try:
            found[n] = secret_key(machines[n])
        except BaseException as exc:  # reported below, with the other threads' results
            found[n] = exc

    threads = [threading.Thread(target=first_start, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(set(found)) == 1, found
    assert found[0] in {f"old-key-of-machine-{n}" for n in range(count)}
    assert stored_rows(migrated_url) == [found[0]]


def test_an_explicit_key_wins_and_nothing_is_stored(migrated_url: str, tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(f"database: {{url: '{migrated_url}'}}\n")
    settings = load_settings(
        tmp_path / "config.yaml", environ={"RAPPORT_SECRET_KEY": "from-the-environment"}
    )
    other = machine(tmp_path / "other", migrated_url)

    assert secret_key(settings) == "from-the-environment"
    assert stored_rows(migrated_url) == []
    stored = secret_key(other)  # a machine without the variable uses the database's
    assert stored != "from-the-environment"
    assert secret_key(settings) == "from-the-environment"  # the variable still wins


def test_a_key_file_from_an_earlier_version_becomes_the_shared_key(
    migrated_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Links sent before the upgrade keep opening: the first machine's old key is kept;
    a second machine whose own old file differs is told its file is not used."""
    first = machine(tmp_path / "a", migrated_url)
    (tmp_path / "a" / "var").mkdir()
    (tmp_path / "a" / "var" / "secret.key").write_text("the-old-key\n", encoding="ascii")
    second = machine(tmp_path / "b", migrated_url)
    (tmp_path / "b" / "var").mkdir()
    (tmp_path / "b" / "var" / "secret.key").write_text("another-old-key\n", encoding="ascii")

    with caplog.at_level(logging.WARNING, logger="rapport.engine.core.keys"):
        assert secret_key(first) == "the-old-key"
        assert caplog.records == []
        assert secret_key(second) == "the-old-key"

    assert [r.getMessage() for r in caplog.records] == [
        f"{tmp_path / 'b' / 'var' / 'secret.key'} holds a signing key other than the "
        "database's; the database's is used (links signed with the file's key no longer "
        "open; the file can be deleted)"
    ]


def test_a_database_without_the_table_says_to_upgrade(database_url: str, tmp_path: Path) -> None:
    settings = machine(tmp_path, database_url)
    with pytest.raises(UserError, match=r"no signing_key table.*rapport db upgrade"):
        secret_key(settings)


def test_an_in_memory_database_keeps_the_key_in_an_owner_only_file(tmp_path: Path) -> None:
    settings = machine(tmp_path, "sqlite:///:memory:")

    key = secret_key(settings)

    path = tmp_path / "var" / "secret.key"
    assert path.read_text(encoding="ascii") == key + "\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_key(settings) == key
    assert len(key) == 64


@pytest.mark.parametrize(
    "content",
    [
        '{\n  "customer": {\n    "id": "C1",\n    "first_name": "Emma"\n  }\n}\n',
        "database:\n  url: sqlite:///var/rapport.db\n",
        "caf\u00e9\n",
        "k" * 5000 + "\n",
    ],
    ids=["a customer export", "a config file", "not ascii", "too long"],
)
def test_a_secret_key_file_that_holds_no_key_is_refused_and_nothing_stored(
    migrated_url: str, tmp_path: Path, content: str
) -> None:
    """secret_key_file named by mistake (a customer's JSON export, config.yaml): its
    whole text became the database's link-signing key, personal data included, and a
    file that is not ASCII ended the command with 'unexpected error ...
    UnicodeDecodeError'. A key file an earlier version wrote is one line of a token."""
    settings = machine(tmp_path, migrated_url, secret_key_file="wrong.txt")
    (tmp_path / "wrong.txt").write_text(content, encoding="utf-8")
    with pytest.raises(UserError, match=r"secret_key_file: .*wrong\.txt holds no signing key"):
        secret_key(settings)
    assert stored_rows(migrated_url) == []


def test_a_key_file_of_1025_characters_without_a_line_break_is_refused(
    migrated_url: str, tmp_path: Path
) -> None:
    """docs/configuration.md: one line of at most 1024 characters. The limit counted
    the file's bytes with room for a newline, so 1025 characters and no newline passed."""
    settings = machine(tmp_path, migrated_url, secret_key_file="long.key")
    (tmp_path / "long.key").write_bytes(b"k" * 1025)
    with pytest.raises(UserError, match=r"secret_key_file: .*long\.key holds no signing key"):
        secret_key(settings)
    assert stored_rows(migrated_url) == []


@pytest.mark.parametrize("ending", [b"", b"\n", b"\r\n"])
def test_a_key_file_of_1024_characters_is_read_whatever_its_line_ending(
    migrated_url: str, tmp_path: Path, ending: bytes
) -> None:
    """A key file saved with a Windows line ending (CRLF) is still one line: it was
    refused at 1024 characters, when the same key ending in LF was read."""
    settings = machine(tmp_path, migrated_url, secret_key_file="full.key")
    (tmp_path / "full.key").write_bytes(b"k" * 1024 + ending)
    assert secret_key(settings) == "k" * 1024
