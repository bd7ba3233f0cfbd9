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
