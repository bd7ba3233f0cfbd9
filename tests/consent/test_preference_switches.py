"""Which consent changes a save of the preference page amounts to
(:func:`rapport.consent.preferences.changes`)."""

from __future__ import annotations

from rapport.consent.preferences import Switch, changes, switches

ADDRESSES = {"email": "sara@example.com", "sms": None}


def grid(current: dict[tuple[str, str], str]) -> list[Switch]:
    return switches(["email", "sms"], ["offers", "birthday"], current, ADDRESSES)


def test_a_switch_of_a_channel_without_an_address_changes_nothing_when_saved() -> None:
    """Shown disabled ("no address on file"), the form cannot send it: saving the page
    must not record a withdrawal the customer never made."""
    current = {("email", "offers"): "granted", ("sms", "offers"): "granted"}

    assert changes(grid(current), {"email:offers"}) == []


def test_a_switch_of_a_channel_without_an_address_cannot_be_switched_on() -> None:
    assert changes(grid({}), {"sms:offers"}) == []


def test_a_switch_the_page_showed_on_and_the_form_keeps_on_is_not_a_move() -> None:
    """Withdrawn since the page was shown (a STOP, an unsubscribe), the customer did
    not touch it: a save must not ask for it again."""
    current = {("email", "offers"): "withdrawn"}

    assert changes(grid(current), {"email:offers"}, shown={"email:offers"}) == []


def test_a_switch_the_page_showed_off_and_the_form_keeps_off_is_not_a_move() -> None:
    """Granted since the page was shown (a reply YES, a confirmation): the stale page
    must not withdraw it."""
    current = {("email", "offers"): "granted"}

    assert changes(grid(current), set(), shown=set()) == []


def test_a_switch_the_customer_moved_on_the_page_is_a_move() -> None:
    current = {("email", "offers"): "granted", ("email", "birthday"): "withdrawn"}

    moved = changes(grid(current), {"email:birthday"}, shown={"email:offers"})

    assert moved == [("email", "offers", "withdrawn"), ("email", "birthday", "pending")]
