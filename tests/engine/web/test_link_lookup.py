""" "Send me my link" finds a customer by any spelling import would store the same way.

Customers are imported with the real importer, so the stored form is import's own
(NFC, the domain IDNA-mapped to its Unicode form, the local part as written); the
typed address is normalised the same way and compared ignoring case, on SQLite and
PostgreSQL alike (the ``engine`` fixture), with no SQL ``lower()`` deciding. SQLite's
``lower()`` folds only ASCII, which is why ``Ünsal@bücher.de`` used to find nobody.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from factories import insert_customer
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from rapport.engine.core.config import Settings
from rapport.engine.core.models import OUTBOX
from rapport.engine.customers.importer import import_file
from rapport.engine.customers.lookup import address_key, customers_by_email
from tests.engine.web.conftest import NOW

STORED = {
    "U1": "Ünsal@bücher.de",
    "U2": unicodedata.normalize("NFD", "José@café.fr"),  # the file holds it decomposed
    "U3": "wang@例子.广告",
    "U4": "Σοφία@example.gr",
    "U5": "Mixed.Case@Example.COM",
    "U6": "用户@qq.com",
}


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


@pytest.fixture
def imported(engine: Engine, tmp_path: Path) -> Engine:
    lines = ["id,first_name,last_name,email,phone,locale,timezone,country,birthday,created_at"]
    lines += [
        f"{customer_id},A,B,{email},,en,UTC,,,2025-01-01T00:00:00Z"
        for customer_id, email in STORED.items()
    ]
    path = tmp_path / "customers.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_file(engine, Settings(), "customers", path, clock=lambda: NOW)
    assert not report.problems, report.problems
    return engine


def found(engine: Engine, typed: str) -> list[str]:
    with engine.connect() as connection:
        return [customer.id for customer in customers_by_email(connection, typed)]


@pytest.mark.parametrize(
    ("typed", "customer_id"),
    [
        ("Ünsal@bücher.de", "U1"),  # exactly as stored: the reported SQLite miss
        ("ünsal@BÜCHER.DE", "U1"),  # non-ASCII case, both parts
        ("ÜNSAL@xn--bcher-kva.de", "U1"),  # the IDN domain typed in punycode
        ("  ünsal@XN--BCHER-KVA.DE ", "U1"),
        (nfd("Ünsal@bücher.de"), "U1"),  # decomposed Ü and ü
        ("josé@café.fr", "U2"),  # composed, stored from a decomposed file
        (nfd("JOSÉ@CAFÉ.FR"), "U2"),
        ("José@xn--caf-dma.fr", "U2"),
        ("WANG@例子.广告", "U3"),
        ("wang@xn--fsqu00a.xn--4rr70v", "U3"),
        ("ΣΟΦΊΑ@example.gr", "U4"),  # Greek capitals, accented
        ("mixed.case@example.com", "U5"),
        ("用户@QQ.com", "U6"),
    ],
)
def test_every_spelling_import_would_store_alike_finds_the_customer(
    imported: Engine, typed: str, customer_id: str
) -> None:
    assert found(imported, typed) == [customer_id]


@pytest.mark.parametrize(
    "typed",
    [
        "unsal@bucher.de",  # other letters, not another spelling
        "Ünsal@bücher.de.example",
        "nsal@bücher.de",
        "_nsal@bücher.de",  # LIKE wildcards in the typed address are only characters
        "%@bücher.de",
        "%nsal@bücher.de",
        "Ünsal",
        "Ünsal@",
        "not an address@bücher.de",
        "",
    ],
)
def test_anything_else_finds_nobody(imported: Engine, typed: str) -> None:
    assert found(imported, typed) == []


def test_the_key_is_import_normal_form_with_the_local_part_lower_cased() -> None:
    key = address_key(nfd("ÜNSAL@XN--BCHER-KVA.DE"))
    assert key is not None
    assert (key.key, key.ascii_domain) == ("ünsal@bücher.de", "xn--bcher-kva.de")
    assert unicodedata.is_normalized("NFC", key.key)
    assert address_key("no-at-sign") is None


def test_an_erased_customer_is_not_found(engine: Engine) -> None:
    insert_customer(
        engine, "E1", email="Ünsal@bücher.de", locale="en", timezone="UTC", erased_at=NOW
    )
    assert found(engine, "ünsal@bücher.de") == []


def test_the_link_request_page_sends_the_link_for_a_punycode_or_decomposed_spelling(
    imported: Engine, client: TestClient
) -> None:
    for typed in ("ÜNSAL@xn--bcher-kva.de", nfd("josé@CAFÉ.fr"), "nobody@bücher.de"):
        response = client.post("/preferences", data={"email": typed, "lang": "en"})
        assert response.status_code == 200

    # TestClient runs the background task before returning.
    with imported.connect() as connection:
        queued = connection.execute(
            select(OUTBOX.c.customer_id, OUTBOX.c.campaign).order_by(OUTBOX.c.id)
        ).all()
    assert [tuple(row) for row in queued] == [("U1", "_link"), ("U2", "_link")]
