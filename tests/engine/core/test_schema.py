"""The schema itself: migrations apply on both databases, and the consent trail is
append-only whatever code (or person with a SQL prompt) tries to change it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, delete, insert, text, update
from sqlalchemy.exc import DatabaseError

from rapport.consent.store import grant
from rapport.engine.core.db import (
    MIGRATIONS_DIR,
    _linear_header,
    current_revision,
    head_revision,
    make_engine,
    upgrade,
)
from rapport.engine.core.models import (
    CONSENT_EVENT,
    CUSTOMER,
    ERASURE_PERMIT,
)


def test_migrations_reach_head(database_url: str) -> None:
    """Every migration applied to an empty database (the other tests get copies of a
    database migrated once per run). The revisions every command reads without Alembic
    (engine/core/db.py) are the ones Alembic reads: none, the first, the head."""
    engine = make_engine(database_url)

    def alembic_current() -> str | None:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    try:
        assert current_revision(engine) is None is alembic_current()
        upgrade(engine, "0001")
        assert current_revision(engine) == "0001" == alembic_current()
        upgrade(engine)
        assert current_revision(engine) == head_revision() == alembic_current()
        assert head_revision() == ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "header",
    [
        'revision = "0003"\ndown_revision = ("0001", "0002")\n',  # a merge
        'revision = "0003"\ndown_revision = "0002"\ndepends_on = "0001"\n',
        'down_revision = "0002"\n',  # no revision of its own
        'revision = make_id()\ndown_revision = "0002"\n',
    ],
)
def test_a_migration_header_other_than_one_parent_is_left_to_alembic(header: str) -> None:
    assert _linear_header(header) is None


def test_a_migration_header_as_the_template_writes_it_is_read() -> None:
    header = (
        'revision: str = "0003"\ndown_revision: str | None = "0002"\n'
        "branch_labels: str | Sequence[str] | None = None\n"
        "depends_on: str | Sequence[str] | None = None\n"
    )
    assert _linear_header(header) == ("0003", "0002")


def seed_trail(engine: Engine) -> Engine:
    with engine.begin() as connection:
        connection.execute(
            insert(CUSTOMER).values(
                id="C1",
                locale="fa_IR",
                timezone="Asia/Tehran",
                created_at=datetime(2025, 1, 1, tzinfo=UTC),
            )
        )
        grant(
            connection,
            "C1",
            "email",
            "offers",
            source="web",
            ip="203.0.113.7",
            user_agent="Mozilla/5.0",
        )
    return engine


@pytest.fixture
def trail(engine: Engine) -> Engine:
    return seed_trail(engine)


def test_consent_events_cannot_be_deleted(trail: Engine) -> None:
    with pytest.raises(DatabaseError, match="append-only"), trail.begin() as connection:
        connection.execute(delete(CONSENT_EVENT))


def test_consent_events_cannot_be_updated(trail: Engine) -> None:
    with pytest.raises(DatabaseError, match="append-only"), trail.begin() as connection:
        connection.execute(update(CONSENT_EVENT).values(status="withdrawn"))


def test_clearing_ip_is_refused_without_an_erasure_permit(trail: Engine) -> None:
    with pytest.raises(DatabaseError, match="append-only"), trail.begin() as connection:
        connection.execute(update(CONSENT_EVENT).values(ip=None, user_agent=None))


def test_erasure_permit_allows_clearing_ip_and_user_agent_only(trail: Engine) -> None:
    with trail.begin() as connection:
        connection.execute(insert(ERASURE_PERMIT).values(customer_id="C1"))
        connection.execute(update(CONSENT_EVENT).values(ip=None, user_agent=None))
        connection.execute(delete(ERASURE_PERMIT))
    with pytest.raises(DatabaseError, match="append-only"), trail.begin() as connection:
        connection.execute(insert(ERASURE_PERMIT).values(customer_id="C1"))
        connection.execute(
            update(CONSENT_EVENT).values(status="withdrawn", ip=None, user_agent=None)
        )


def test_truncate_is_refused_on_postgresql(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        upgrade(engine)
        seed_trail(engine)
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
            connection.execute(text("TRUNCATE consent_event CASCADE"))
    finally:
        engine.dispose()


def test_outbox_bodies_are_compressed_with_lz4_on_a_postgresql_that_offers_it(
    postgres_url: str,
) -> None:
    """pglz compression of the bodies was most of the server's cost of writing a
    planned message (migration 0018)."""
    engine = make_engine(postgres_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            offered = connection.execute(
                text(
                    "SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                    "WHERE name = 'default_toast_compression'"
                )
            ).scalar()
            if not offered:
                pytest.skip("this PostgreSQL server is built without lz4")
            methods = dict(
                connection.execute(
                    text(
                        "SELECT attname, attcompression FROM pg_attribute "
                        "WHERE attrelid = 'outbox_message'::regclass "
                        "AND attname IN ('body_text', 'body_html')"
                    )
                ).all()
            )
    finally:
        engine.dispose()
    assert methods == {"body_text": "l", "body_html": "l"}
