"""A double opt-in link confirms for the address it was mailed to, not for another.

The confirmation e-mail proves that the owner of the mailbox wants the mail. A topic
switched on in the preference centre sent its link to the customer's address then;
a sync from the shop then replaced that address (a mistyped one corrected, an account
handed to its real owner). The link in the old mailbox still confirmed the topic, and
marketing went to the new address, whose owner had confirmed nothing (found by running
the preference save, rapport import customers and the link in sequence). The link now
names a digest of the address it went to and confirms nothing once the customer's
address is another: the page says nothing is waiting and links to the preferences,
where a new switch sends a new confirmation to the new address.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from rapport.consent.state import current_states
from rapport.engine.core.models import OUTBOX
from rapport.engine.customers.importer import import_file
from tests.engine.web.conftest import FakeClock, add_customer, webhook_settings
from tests.engine.web.test_preference_save_abuse import save


def confirm_path(engine: Engine, customer_id: str) -> str:
    """The path of the link in the last confirmation e-mail a preference save queued."""
    with engine.connect() as connection:
        body = (
            connection.execute(
                select(OUTBOX.c.body_text)
                .where(OUTBOX.c.customer_id == customer_id, OUTBOX.c.campaign == "_confirm")
                .order_by(OUTBOX.c.id.desc())
            )
            .scalars()
            .first()
        )
    assert body is not None
    url = next(word for word in body.split() if "/confirm/" in word)
    return urlsplit(url).path


def change_address(engine: Engine, tmp_path: Path, customer_id: str, email: str) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(f"id,locale,timezone,email\n{customer_id},en,UTC,{email}\n", encoding="utf-8")
    report = import_file(engine, webhook_settings(), "customers", path)
    assert report.updated == 1, report.problems


def status(engine: Engine, customer_id: str) -> str:
    with engine.connect() as connection:
        (state,) = current_states(connection, customer_id)
    return state.status


def test_a_confirmation_link_mailed_to_an_address_since_replaced_confirms_nothing(
    engine: Engine, client: TestClient, clock: FakeClock, tmp_path: Path
) -> None:
    add_customer(engine, "c1", email="old.owner@example.com")
    save(client, "c1", "email:offers")
    path = confirm_path(engine, "c1")
    change_address(engine, tmp_path, "c1", "new.owner@example.com")
    clock.advance(hours=1)

    shown, answered = client.get(path), client.post(path)

    assert shown.status_code == answered.status_code == 200
    for page in (shown, answered):
        assert 'id="nothing"' in page.text and 'id="confirm"' not in page.text
    assert status(engine, "c1") == "pending"


def test_a_confirmation_link_confirms_when_only_the_case_of_the_address_changed(
    engine: Engine, client: TestClient, clock: FakeClock, tmp_path: Path
) -> None:
    add_customer(engine, "c2", email="nora@example.com")
    save(client, "c2", "email:offers")
    path = confirm_path(engine, "c2")
    change_address(engine, tmp_path, "c2", "Nora@example.com")
    clock.advance(hours=1)

    answered = client.post(path)

    assert 'id="done"' in answered.text
    assert status(engine, "c2") == "granted"


def test_switching_again_after_the_change_mails_a_link_the_new_address_confirms_that_day(
    engine: Engine, client: TestClient, clock: FakeClock, tmp_path: Path
) -> None:
    """At most one confirmation e-mail a day goes to an address; a new address gets
    its own the same day."""
    add_customer(engine, "c3", email="old.owner@example.com")
    save(client, "c3", "email:offers")
    old = confirm_path(engine, "c3")
    change_address(engine, tmp_path, "c3", "new.owner@example.com")
    clock.advance(minutes=10)
    save(client, "c3")  # off
    clock.advance(minutes=1)
    save(client, "c3", "email:offers")  # on again
    new = confirm_path(engine, "c3")
    clock.advance(minutes=10)

    assert new != old
    assert 'id="done"' in client.post(new).text
    assert status(engine, "c3") == "granted"
