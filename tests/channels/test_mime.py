"""MIME building: wire format, Message-IDs, addresses, and the header checks."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.parser import BytesParser

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rapport.channels import (
    HeaderInjectionError,
    InvalidAddressError,
    MessageFormatError,
    OutgoingMessage,
    build_email,
    message_id_for,
)
from rapport.channels.mime import envelope_address, message_id_of, strip_bidi_controls

SENDER = "Shop <shop@example.com>"


def mail(**changes: object) -> OutgoingMessage:
    fields: dict[str, object] = {
        "idempotency_key": "c1:birthday:2025-03-01:email",
        "kind": "email",
        "to": "maryam@example.com",
        "subject": "تولدت مبارک",
        "text": "سلام\n「生日快乐」\n",
    }
    fields.update(changes)
    return OutgoingMessage(**fields)  # type: ignore[arg-type]


def test_wire_format_is_crlf_and_7bit() -> None:
    data = build_email(mail(html="<p>「生日快乐」</p>"), SENDER)

    assert b"\n" not in data.replace(b"\r\n", b"")
    assert data.isascii(), "non-ASCII must travel encoded, needing no 8BITMIME"


def test_text_only_is_text_plain_and_html_adds_an_alternative() -> None:
    parse = BytesParser(policy=policy.default).parsebytes
    plain = parse(build_email(mail(), SENDER))
    both = parse(build_email(mail(html="<p>hi</p>"), SENDER))

    assert plain.get_content_type() == "text/plain"
    assert both.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in both.iter_parts()] == ["text/plain", "text/html"]


def test_headers_are_set() -> None:
    when = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    parsed = BytesParser(policy=policy.default).parsebytes(
        build_email(mail(to_name="مریم"), SENDER, date=when, message_id_domain="shop.example")
    )

    assert str(parsed["From"]) == SENDER
    assert parsed["To"].addresses[0].display_name == "مریم"
    assert str(parsed["Subject"]) == "تولدت مبارک"
    assert parsed["Date"].datetime == when
    assert str(parsed["Message-ID"]) == message_id_for(
        "c1:birthday:2025-03-01:email", "shop.example"
    )


def test_message_id_is_deterministic_and_well_formed() -> None:
    first = message_id_for("c1:birthday:2025-03-01:email")

    assert first == message_id_for("c1:birthday:2025-03-01:email")
    assert first != message_id_for("c1:birthday:2026-03-01:email")
    assert re.fullmatch(r"<[0-9a-f]{32}@rapport\.invalid>", first)


@pytest.mark.parametrize(
    ("domain", "a_label"),
    [("bücher.example", "xn--bcher-kva.example"), ("例子.中国", "xn--fsqu00a.xn--fiqs8s")],
)
def test_an_international_message_id_domain_travels_as_its_a_label(
    domain: str, a_label: str
) -> None:
    """sender.message_id_domain is any domain name, and config.yaml takes bücher.example;
    every e-mail then failed for good with 'the Message-ID must be printable ASCII'."""
    message_id = message_id_for("c1:birthday:2025-03-01:email", domain)
    parsed = BytesParser(policy=policy.default).parsebytes(
        build_email(mail(message_id=message_id), SENDER)
    )

    assert str(parsed["Message-ID"]) == message_id
    assert message_id.endswith(f"@{a_label}>")


@pytest.mark.parametrize("given", ["abc@shop.example", "<abc@shop.example>", " <abc@shop.example>"])
def test_an_explicit_message_id_gets_angle_brackets(given: str) -> None:
    assert message_id_of(mail(message_id=given)) == "<abc@shop.example>"


def test_extra_headers_may_not_replace_core_headers() -> None:
    with pytest.raises(MessageFormatError) as caught:
        build_email(mail(headers={"Bcc": "everyone@example.com"}), SENDER)
    assert not isinstance(caught.value, HeaderInjectionError)


@pytest.mark.parametrize(
    "changes",
    [
        {"subject": "a\rb"},
        {"subject": "a\nb"},
        {"subject": "a\x00b"},
        {"to": "a@example.com\nBcc: b@example.com"},
        {"to_name": "A\r\n"},
        {"sender": "s@example.com\r\nBcc: b@example.com"},
        {"headers": {"X-Campaign": "a\r\nBcc: b@example.com"}},
        {"headers": {"X-Campaign\r\nBcc": "b@example.com"}},
        {"headers": {"X Campaign": "b"}},
        {"headers": {"X-Campaign:Bcc": "b"}},
    ],
)
def test_header_injection_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(HeaderInjectionError):
        build_email(mail(**changes), SENDER)


def test_an_unsafe_default_sender_is_refused() -> None:
    with pytest.raises(HeaderInjectionError):
        build_email(mail(), "s@example.com\r\nBcc: b@example.com")


@pytest.mark.parametrize(
    "to", ["مریم@example.com", "not an address", "", "a@example.com, b@example.com", "<a@b.c>"]
)
def test_addresses_email_cannot_carry_are_refused(to: str) -> None:
    with pytest.raises(InvalidAddressError) as caught:
        build_email(mail(to=to), SENDER)
    if to:
        assert to not in str(caught.value)


def test_internationalized_domains_travel_as_punycode() -> None:
    data = build_email(mail(to="maryam@bücher.example"), "Shop <shop@bücher.example>")

    assert b"To: maryam@xn--bcher-kva.example" in data
    assert b"From: Shop <shop@xn--bcher-kva.example>" in data
    assert envelope_address("Shop <shop@bücher.example>") == "shop@xn--bcher-kva.example"


# --- wire format: folding, encoded-words, line lengths (parsed back with the stdlib) ------

parse = BytesParser(policy=policy.default).parsebytes


def header_block(data: bytes) -> list[bytes]:
    """The raw header lines (continuations kept separate), up to the blank line."""
    return data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


def raw_header(data: bytes, name: str) -> str:
    """A header's value as written, folding kept."""
    return str(BytesParser(policy=policy.compat32).parsebytes(data)[name])


def encoded_words(value: str) -> list[str]:
    return re.findall(r"=\?utf-8\?b\?[A-Za-z0-9+/=]*\?=", value)


def decoded_display_name(data: bytes) -> str:
    """The To display name as RFC 2047 section 6.2 reads it: white space between
    adjacent encoded-words is dropped. (``policy.default`` keeps it inside a display
    name, CPython issue gh-128110, so it cannot check this.)"""
    decoded = str(make_header(decode_header(raw_header(data, "To").replace("\r\n", ""))))
    return decoded.rsplit(" <", 1)[0]


LONG_PERSIAN = (
    "تخفیف ویژهٔ یلدا برای مشتریان وفادار فروشگاه: بیست درصد روی همهٔ سرم‌ها و کرم‌ها تا آخر هفته"
)
LONG_CHINESE = "双十一特惠：全场精华与面霜八折，会员再享满三百减五十，活动截至本周日晚上十二点" * 2


@pytest.mark.parametrize("subject", [LONG_PERSIAN, LONG_CHINESE, LONG_PERSIAN * 12])
def test_long_non_ascii_subjects_fold_into_short_encoded_words(subject: str) -> None:
    data = build_email(mail(subject=subject), SENDER)

    assert str(parse(data)["Subject"]) == subject
    # RFC 2047: words of at most 75 characters, on lines of at most 76
    assert all(len(word) <= 75 for word in encoded_words(raw_header(data, "Subject")))
    assert all(len(line) <= 76 for line in header_block(data) if b"=?utf-8?b?" in line)


def test_a_long_ascii_subject_folds_at_spaces_and_stays_readable() -> None:
    subject = "Your winter offer: 20% off every serum and cream until Sunday, " * 3
    data = build_email(mail(subject=subject.strip()), SENDER)

    assert str(parse(data)["Subject"]) == subject.strip()
    assert not encoded_words(raw_header(data, "Subject"))
    assert all(len(line) <= 78 for line in header_block(data))


def test_an_unbreakable_ascii_subject_longer_than_a_line_is_encoded() -> None:
    subject = "x" * 1200
    data = build_email(mail(subject=subject), SENDER)

    assert str(parse(data)["Subject"]) == subject
    assert all(len(line) <= 78 for line in header_block(data))


@pytest.mark.parametrize(
    "name",
    [
        "مریم " * 30 + "احمدی",
        "王" * 80,
        'Jane "JJ" Doe-Smith, Jr. of the Very Long Family Name Society of Greater London',
        "   spaced   out   ",
    ],
)
def test_long_display_names_round_trip(name: str) -> None:
    data = build_email(mail(to_name=name), SENDER)

    assert parse(data)["To"].addresses[0].addr_spec == "maryam@example.com"
    if encoded_words(raw_header(data, "To")):
        assert decoded_display_name(data) == name
        assert all(len(line) <= 76 for line in header_block(data) if b"=?utf-8?b?" in line)
    else:
        assert parse(data)["To"].addresses[0].display_name == name
    assert all(len(line) <= 78 for line in header_block(data))


@pytest.mark.parametrize(
    "name",
    [
        "سید محمدحسین طباطبایی‌نژاد اصفهانی",
        "Zoë Müller-Lüdenscheidt von Hohenzollern-Sigmaringen und Württemberg",
    ],
)
def test_a_long_display_name_is_cut_into_encoded_words_between_its_words(name: str) -> None:
    """A reader that keeps the white space between encoded-words (the stdlib's address
    parser, gh-128110, and the tools built on it) showed a word cut in two:
    'طباطبایی‌ن ژاد'. Cut after a space, every word stays whole there too."""
    data = build_email(mail(to_name=name), SENDER)
    shown = parse(data)["To"].addresses[0].display_name

    assert len(encoded_words(raw_header(data, "To"))) > 1
    assert decoded_display_name(data) == name
    assert " ".join(shown.split()) == name


def test_a_long_list_unsubscribe_keeps_its_urls_intact() -> None:
    token = "eyJjIjoiQzEyMzQ1IiwiY2giOiJlbWFpbCJ9.Z3xYbw." + "a" * 120
    https = f"https://shop.example/unsubscribe/{token}"
    mailto = f"mailto:unsubscribe@shop.example?subject=unsubscribe%20{token}"
    headers = {
        "List-Unsubscribe": f"<{https}>, <{mailto}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    data = build_email(mail(headers=headers), SENDER)

    got = parse(data)
    assert str(got["List-Unsubscribe"]) == f"<{https}>, <{mailto}>"
    assert str(got["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    # each URL whole on one line (never encoded-words, which no mailbox reads as a URL)
    assert not encoded_words(raw_header(data, "List-Unsubscribe"))
    assert any(https.encode() in line for line in header_block(data))
    assert all(len(line) <= 998 for line in header_block(data))


def test_an_extra_header_that_cannot_fit_998_characters_is_refused() -> None:
    with pytest.raises(MessageFormatError):
        build_email(mail(headers={"List-Unsubscribe": f"<https://x.example/{'a' * 1000}>"}), SENDER)


def canonical(text: str) -> str:
    """``text`` as a parsed body gives it back: CR, LF and CRLF line ends become CRLF
    on the wire (RFC 2045 canonical form), and the last line is ended."""
    return "\r\n".join(line.decode() for line in text.encode().splitlines()) + "\r\n"


@pytest.mark.parametrize(
    "text",
    [
        "a" * 5000 + "\n",  # one ASCII line far over 998
        "سلام " * 400,  # one long Persian line
        "line one\nline two\r\nline three\rend",  # mixed line endings
        "=?utf-8?b?not-a-word?= and = signs and trailing spaces   \n.leading dot\n",
        "",
    ],
)
def test_bodies_keep_every_line_short_and_decode_to_the_text(text: str) -> None:
    html = f"<p>{text}</p>"
    data = build_email(mail(text=text, html=html), SENDER)

    assert all(len(line) <= 78 for line in data.split(b"\r\n"))
    got = parse(data)
    assert got.get_body(("plain",)).get_content() == canonical(text)
    assert got.get_body(("html",)).get_content() == canonical(html)


def test_the_multipart_boundary_never_occurs_in_a_part() -> None:
    probe = build_email(mail(html="<p>x</p>"), SENDER)
    boundary = parse(probe).get_boundary()
    data = build_email(mail(text=f"--{boundary}\n", html=f"<p>--{boundary}</p>"), SENDER)

    got = parse(data)
    assert got.get_boundary() != boundary
    assert got.get_body(("plain",)).get_content().strip() == f"--{boundary}"


def test_headers_come_out_in_a_stable_order_with_the_mime_ones_last() -> None:
    when = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    data = build_email(
        mail(html="<p>hi</p>", headers={"List-Unsubscribe": "<https://u.example/t>"}),
        SENDER,
        date=when,
    )

    names = [line.split(b":", 1)[0] for line in header_block(data) if line[:1] != b" "]
    assert names == [
        b"From",
        b"To",
        b"Subject",
        b"Message-ID",
        b"Date",
        b"List-Unsubscribe",
        b"MIME-Version",
        b"Content-Type",
    ]


# Header values never hold CR, LF or NUL (refused before building); surrogates cannot
# be encoded at all.
header_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"), max_size=400
)


@settings(max_examples=200, deadline=None)
@given(subject=header_text, name=header_text, text=st.text(max_size=2000), html=st.text())
def test_any_message_parses_back_to_what_was_sent(
    subject: str, name: str, text: str, html: str
) -> None:
    assume("\x00" not in text + html)
    data = build_email(mail(subject=subject, to_name=name or None, text=text, html=html), SENDER)

    assert data.isascii() and b"\n" not in data.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))
    assert all(len(line) <= 76 for line in header_block(data) if b"=?utf-8?b?" in line)
    got = parse(data)
    assert not got.defects
    # Bidi controls never reach a header (see test_international_addresses.py).
    subject, name = strip_bidi_controls(subject), strip_bidi_controls(name)
    # Plain subjects lose leading blanks to unfolding, as every parser reads them.
    plain = not encoded_words(raw_header(data, "Subject"))
    assert str(got["Subject"]) == (subject.lstrip(" ") if plain else subject)
    if name.strip(" "):
        if encoded_words(raw_header(data, "To")):
            assert decoded_display_name(data) == name
        else:
            assert got["To"].addresses[0].display_name == name
    assert got.get_body(("plain",)).get_content() == canonical(text)
    assert got.get_body(("html",)).get_content() == canonical(html)
