"""web.base_url begins every link in every message (List-Unsubscribe included), so it
must be an address a customer's mail client can open as it is, and show them nothing
that is not theirs to see."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import config_problems

from rapport.channels.base import OutgoingMessage
from rapport.channels.mime import build_email
from rapport.consent.links import unsubscribe_headers
from rapport.consent.tokens import Signer
from rapport.engine.core.config import load_settings


def problems(tmp_path: Path, base_url: str) -> list[str]:
    return config_problems(tmp_path, f"web:\n  base_url: {base_url}\n")


@pytest.mark.parametrize(
    "url", ["https://shop.example/r", "https://shop.example/", "http://127.0.0.1:8000"]
)
def test_a_base_url_with_a_host_and_a_path_is_taken(tmp_path: Path, url: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"web:\n  base_url: {url}\n", encoding="utf-8")

    assert load_settings(config, environ={}).web.base_url == url


@pytest.mark.parametrize("url", ["https://shop.example?ref=mail", "https://shop.example/#top"])
def test_a_base_url_with_a_query_or_fragment_is_refused(tmp_path: Path, url: str) -> None:
    assert problems(tmp_path, url) == [
        f"2: web.base_url: {url!r}: a query or fragment would end up in the middle of links"
    ]


def test_a_base_url_holding_a_user_name_and_password_is_refused(tmp_path: Path) -> None:
    """Every message would show them to its reader: List-Unsubscribe carried
    <https://ops:s3cret@shop.example/unsubscribe/...>."""
    assert problems(tmp_path, "https://ops:s3cret@shop.example") == [
        "2: web.base_url: holds a user name or password, which every message would show "
        "its reader: write the address customers open, without them"
    ]


@pytest.mark.parametrize(
    "url", ["https://ops:s3cret@shop.example:99999", "https://ops:s3cret@[shop.example"]
)
def test_a_base_url_holding_a_password_that_is_no_url_is_refused_without_echoing_it(
    tmp_path: Path, url: str
) -> None:
    """A port out of range or an IPv6 host left open: 'is not a URL' quoted the URL."""
    assert problems(tmp_path, url) == [
        "2: web.base_url: holds a user name or password, which every message would show "
        "its reader: write the address customers open, without them"
    ]


@pytest.mark.parametrize("url", ['"https://shop example"', '"https://shop.example/my links"'])
def test_a_base_url_with_a_space_inside_is_refused(tmp_path: Path, url: str) -> None:
    """List-Unsubscribe carried <https://shop example/unsubscribe/...>, which opens nothing."""
    assert problems(tmp_path, url) == [
        f"2: web.base_url: {url.strip(chr(34))!r} holds a space or a control character: "
        "links made from it would open nothing"
    ]


def test_a_base_url_with_spaces_around_it_is_refused(tmp_path: Path) -> None:
    """Quoted, the spaces stayed in every link: '< https://shop.example/unsubscribe/...>'."""
    assert problems(tmp_path, '" https://shop.example "') == [
        "2: web.base_url: ' https://shop.example ' holds a space or a control character: "
        "links made from it would open nothing"
    ]


def test_a_base_url_whose_host_is_no_host_name_is_refused(tmp_path: Path) -> None:
    assert problems(tmp_path, "https://shop..example") == [
        "2: web.base_url: 'https://shop..example' is not an address customers can open: "
        "write https:// and the host, e.g. https://shop.example (every link in messages "
        "starts with it)"
    ]


def test_a_base_url_on_port_0_is_refused(tmp_path: Path) -> None:
    """Every link (List-Unsubscribe included) pointed at port 0, which no browser opens."""
    (problem,) = problems(tmp_path, "https://shop.example:0")
    assert problem.startswith("2: web.base_url: ") and "port" in problem


@pytest.mark.parametrize(
    "url", ["https://shop.example/" + "a" * 780, "https://shop.example/" + "پ" * 130]
)
def test_a_base_url_too_long_for_a_list_unsubscribe_line_is_refused(
    tmp_path: Path, url: str
) -> None:
    """List-Unsubscribe holds the base URL (as a URI: پ is %D9%BE) and a token on one
    unbreakable line; past 998 characters every marketing e-mail failed at send, with
    'header 'List-Unsubscribe' has a line over 998 characters'."""
    [problem] = problems(tmp_path, url)

    assert problem.startswith("2: web.base_url: is ") and "at most 800" in problem


def test_the_longest_base_url_taken_still_makes_e_mails_that_can_be_sent(tmp_path: Path) -> None:
    """800 characters, a customer id of 64 non-ASCII characters and a 32-character
    channel name (the longest token): every line of the e-mail within 998."""
    config = tmp_path / "config.yaml"
    config.write_text(f"web:\n  base_url: https://shop.example/{'a' * 779}\n", encoding="utf-8")
    settings = load_settings(config, environ={})
    headers = unsubscribe_headers("中" * 64, "c" * 32, settings, Signer("s" * 40))

    wire = build_email(
        OutgoingMessage(
            idempotency_key="k", kind="email", to="a@example.com", text="hi", headers=headers
        ),
        "Shop <shop@example.com>",
    )

    assert max(map(len, wire.split(b"\r\n"))) <= 998
