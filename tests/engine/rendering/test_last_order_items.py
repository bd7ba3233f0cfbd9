"""``last_order.items``, as docs/campaigns.md names it, is the order's lines.

The context's mappings are plain dicts, and ``items`` (like ``keys``, ``values`` or
``get``) is also the name of a dict method, which Jinja's dotted lookup tries first:
a template looping over ``last_order.items`` was given the method and failed, at
validation ('builtin_function_or_method' object is not iterable) and for every
customer at planning, though the context documents the key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rapport.engine.rendering.renderer import Renderer


def _context() -> dict[str, Any]:
    return {
        "customer": {"first_name": "Alex"},
        "last_order": {
            "id": "O-1",
            "items": [{"sku": "SERUM-30ML", "quantity": 2}, {"sku": "JAM", "quantity": 1}],
        },
        "offer": {"gift": "Tote bag"},
        "links": {"preferences": "https://example.com/p", "unsubscribe": "https://example.com/u"},
    }


def _render(make: Callable[..., Renderer], body: str) -> str:
    renderer = make({"promo/en/email_subject.txt": "Hi\n", "promo/en/email.txt": body})
    return renderer.render("promo", "email", "en", _context()).text


def test_last_order_items_is_the_list_of_its_lines(make: Callable[..., Renderer]) -> None:
    body = "{% for item in last_order.items %}{{ item.sku }} x{{ item.quantity }};{% endfor %}"
    assert _render(make, body) == "SERUM-30ML x2;JAM x1;"


def test_last_order_items_has_a_length_and_an_index(make: Callable[..., Renderer]) -> None:
    body = "{{ last_order.items | length }} {{ last_order.items[1].sku }}"
    assert _render(make, body) == "2 JAM"


def test_a_dict_method_is_still_called_where_no_key_has_its_name(
    make: Callable[..., Renderer],
) -> None:
    assert _render(make, "{% for k, v in offer.items() %}{{ k }}={{ v }}{% endfor %}") == (
        "gift=Tote bag"
    )
