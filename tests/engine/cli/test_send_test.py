"""``rapport send-test`` and ``rapport preview --html`` (issue 19, point 5).

A test message goes through a real SMTP server on loopback (aiosmtpd), marked in its
subject and headers, and leaves every figure of ``rapport report --json`` and the
outbox as they were; a bad address, channel or locale is a clear error. ``preview
--html`` writes the campaign's preview page.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import SMTPSink
from factories import PERSIAN, REPO, insert_customer, run_rapport, scalar, seed_due_messages
from sqlalchemy import func, select

from rapport.consent.privacy import erase_customer
from rapport.consent.tokens import SAMPLE_TOKEN, InvalidToken, Purpose, Signer
from rapport.engine.core.config import load_settings
from rapport.engine.core.db import make_engine
from rapport.engine.core.keys import secret_key
from rapport.engine.core.models import OUTBOX
from rapport.engine.delivery.suppression import suppress
from rapport.engine.runtime.send_test import TEST_HEADER, TEST_MARK


def write_config(folder: Path, url: str, smtp_port: int) -> None:
    (folder / "config.yaml").write_text(
        f"database: {{url: '{url}'}}\n"
        f"campaigns_dir: {REPO / 'campaigns'}\n"
        f"templates_dir: {REPO / 'templates'}\n"
        "channels:\n"
        f"  email: {{adapter: smtp, kind: email, url: 'smtp://127.0.0.1:{smtp_port}'}}\n"
        f"  sms: {{adapter: file, kind: sms, path: '{folder / 'sms'}'}}\n",
        encoding="utf-8",
    )


@pytest.fixture
def workdir(tmp_path: Path, smtp_sink: tuple[SMTPSink, int]) -> Path:
    url = f"sqlite:///{tmp_path / 'rapport.db'}"
    seed_due_messages(url, messages=6, customers=3, persona=PERSIAN, campaign="birthday")
    write_config(tmp_path, url, smtp_sink[1])
    return tmp_path


def add_customer(folder: Path, customer_id: str, **values: Any) -> None:
    """A customer in the work folder's database (see :func:`insert_customer`)."""
    engine = make_engine(f"sqlite:///{folder / 'rapport.db'}")
    insert_customer(engine, customer_id, **values)
    engine.dispose()


def outbox_rows(folder: Path) -> int:
    engine = make_engine(f"sqlite:///{folder / 'rapport.db'}")
    try:
        return int(scalar(engine, select(func.count()).select_from(OUTBOX)))
    finally:
        engine.dispose()


def test_send_test_sends_a_marked_message_through_smtp_and_no_report_counts_it(
    workdir: Path, smtp_sink: tuple[SMTPSink, int]
) -> None:
    sink, _ = smtp_sink
    before = run_rapport("report", "--json", cwd=workdir)
    rows = outbox_rows(workdir)
    sent = run_rapport("send-test", "birthday", "--to", "marketer@example.com", cwd=workdir)
    after = run_rapport("report", "--json", cwd=workdir)

    assert sent.returncode == 0, sent.stderr
    assert "sent a test message of birthday through email in en" in sent.stdout
    assert len(sink.messages) == 1
    message: Any = sink.messages[0]["message"]
    assert sink.messages[0]["rcpt_tos"] == ["marketer@example.com"]
    assert str(message["Subject"]).startswith(f"{TEST_MARK} Happy birthday, Alex")
    assert message[TEST_HEADER] == "1"
    assert before.returncode == after.returncode == 0
    figures = json.loads(before.stdout)
    assert figures["campaigns"], figures  # there are figures that a count would change
    assert json.loads(after.stdout) == figures
    assert outbox_rows(workdir) == rows


def test_send_test_renders_the_chosen_locale_and_customer(
    workdir: Path, smtp_sink: tuple[SMTPSink, int]
) -> None:
    add_customer(workdir, "REAL-1", first_name="Mina", last_name="Karimi", locale="fa_IR")
    sent = run_rapport(
        "send-test", "birthday", "--to", "m@example.com", "--locale", "fa",
        "--customer", "REAL-1", cwd=workdir,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    subject = str(smtp_sink[0].messages[0]["message"]["Subject"])  # type: ignore[index]
    assert subject.startswith(f"{TEST_MARK} تولدتان مبارک")
    assert "Mina" in subject  # the customer's own name, not the sample's


def _subject(sink: SMTPSink) -> str:
    return str(sink.messages[-1]["message"]["Subject"])  # type: ignore[index]


@pytest.mark.parametrize(
    ("customer_locale", "said", "subject"),
    [
        ("fa_IR", "in fa", "تولدتان مبارک"),
        ("en_US", "in en", "Happy birthday"),
        ("zh_CN", "in zh", "生日快乐"),
        ("zh_TW", "in zh_Hant", "生日快樂"),
    ],
)
def test_send_test_renders_a_customer_s_regional_locale_through_its_fallback(
    workdir: Path,
    smtp_sink: tuple[SMTPSink, int],
    customer_locale: str,
    said: str,
    subject: str,
) -> None:
    add_customer(workdir, "REGIONAL", first_name="Mina", locale=customer_locale)
    sent = run_rapport(
        "send-test", "birthday", "--to", "m@example.com", "--customer", "REGIONAL", cwd=workdir
    )
    assert sent.returncode == 0, sent.stderr
    assert f"through email {said}" in sent.stdout
    assert subject in _subject(smtp_sink[0])


def test_send_test_accepts_a_regional_locale_that_falls_back_to_a_configured_one(
    workdir: Path, smtp_sink: tuple[SMTPSink, int]
) -> None:
    sent = run_rapport("send-test", "birthday", "--to", "m@example.com", "--locale", "zh_TW",
                       cwd=workdir)  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    assert "through email in zh_Hant" in sent.stdout
    assert "生日快樂" in _subject(smtp_sink[0])


def _token_shaped(text: str) -> set[str]:
    """Every path segment of every URL in ``text`` that could be a signed token."""
    return {
        segment
        for url in re.findall(r"https?://[^\s\"'<>]+", text)
        for segment in url.split("?")[0].split("/")
        if len(segment) > 8
    }


def test_send_test_for_a_real_customer_carries_no_link_that_opens_their_pages(
    workdir: Path, smtp_sink: tuple[SMTPSink, int]
) -> None:
    settings = load_settings(workdir / "config.yaml")
    signer = Signer(secret_key(settings))  # the installation's key, made before the send
    add_customer(workdir, "REAL-2", first_name="Mina", locale="fa_IR")
    sent = run_rapport(
        "send-test", "feedback", "--to", "m@example.com", "--customer", "REAL-2", cwd=workdir
    )
    assert sent.returncode == 0, sent.stderr
    message: Any = smtp_sink[0].messages[0]["message"]
    text = "".join(
        part.get_content() for part in message.walk() if part.get_content_maintype() == "text"
    )
    assert f"/preferences/{SAMPLE_TOKEN}" in text and f"/feedback/{SAMPLE_TOKEN}" in text
    segments = _token_shaped(text)
    assert segments  # the links are there to be tried
    for segment in segments:
        for purpose in Purpose:
            with pytest.raises(InvalidToken):
                signer.verify(purpose, segment)


def test_send_test_for_a_real_customer_carries_the_sample_coupon_not_theirs(
    workdir: Path, smtp_sink: tuple[SMTPSink, int]
) -> None:
    add_customer(workdir, "REAL-3", first_name="Ada", locale="en_US", email="ada@example.com")
    day = ("--date", "2026-12-06")
    preview = run_rapport("preview", "welcome", "--customer", "REAL-3", *day, cwd=workdir)
    sent = run_rapport("send-test", "welcome", "--to", "m@example.com", "--customer", "REAL-3",
                       *day, cwd=workdir)  # fmt: skip
    assert preview.returncode == sent.returncode == 0, preview.stderr + sent.stderr
    (theirs,) = set(re.findall(r"personal code: (HELLO\S+)", preview.stdout))
    message: Any = smtp_sink[0].messages[0]["message"]
    text = message.get_body(("plain",)).get_content()
    (shown,) = re.findall(r"personal code: (HELLO\S+)", text)
    assert shown != theirs


def _suppress(workdir: Path, kind: str, address: str, reason: str) -> None:
    engine = make_engine(f"sqlite:///{workdir / 'rapport.db'}")
    with engine.begin() as connection:
        suppress(connection, [(kind, address, reason, None)], datetime.now(UTC))
    engine.dispose()


@pytest.mark.parametrize("reason", ["hard_bounce", "complaint"])
def test_send_test_refuses_an_address_on_the_suppression_list(
    workdir: Path, smtp_sink: tuple[SMTPSink, int], reason: str
) -> None:
    _suppress(workdir, "email", "ann@example.com", reason)
    ran = run_rapport("send-test", "birthday", "--to", "ann@example.com", cwd=workdir)
    assert ran.returncode == 1, ran.stderr
    assert "--to: this address is on the suppression list" in ran.stderr
    assert "Traceback" not in ran.stderr
    assert smtp_sink[0].messages == []


def test_send_test_refuses_an_erased_customer_s_address_kept_only_hashed(
    workdir: Path, smtp_sink: tuple[SMTPSink, int]
) -> None:
    engine = make_engine(f"sqlite:///{workdir / 'rapport.db'}")
    insert_customer(engine, "GONE", first_name="Gone", email="gone@example.com")
    with engine.begin() as connection:
        erase_customer(connection, "GONE", datetime.now(UTC))
    engine.dispose()
    ran = run_rapport("send-test", "birthday", "--to", "Gone@Example.com", cwd=workdir)
    assert ran.returncode == 1, ran.stderr
    assert "on the suppression list" in ran.stderr
    assert "gone" not in ran.stderr.lower()  # neither whose it was nor the address
    assert smtp_sink[0].messages == []


def test_send_test_refuses_a_suppressed_phone_number(workdir: Path) -> None:
    _suppress(workdir, "sms", "+989121234567", "stop")
    ran = run_rapport("send-test", "birthday", "--to", "+989121234567", "--channel", "sms",
                      cwd=workdir)  # fmt: skip
    assert ran.returncode == 1 and "on the suppression list" in ran.stderr
    assert not (workdir / "sms").exists() or not any((workdir / "sms").iterdir())


def test_send_test_marks_an_sms_in_its_text(workdir: Path) -> None:
    sent = run_rapport(
        "send-test", "birthday", "--to", "+989121234567", "--channel", "sms", "--locale", "fa",
        cwd=workdir,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    (written,) = (workdir / "sms").iterdir()
    assert TEST_MARK in written.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--to", "not-an-address"], "--to: not a valid e-mail address"),
        (["--to", "09121234567", "--channel", "sms"], "--to: must be in international E.164"),
        (["--to", "a@example.com", "--channel", "fax"], "does not use 'fax'; it uses email, sms"),
        (["--to", "a@example.com", "--locale", "xx"], "--locale: 'xx' is not one of en, fa"),
        (["--to", "a@example.com", "--locale", "de_DE"], "--locale: 'de_DE' is not one of en"),
        (["--to", "a@example.com", "--customer", "NOBODY"], "no customer with id 'NOBODY'"),
    ],
)
def test_send_test_refuses_bad_input_with_a_clear_message_and_sends_nothing(
    workdir: Path, smtp_sink: tuple[SMTPSink, int], args: list[str], said: str
) -> None:
    ran = run_rapport("send-test", "birthday", *args, cwd=workdir)
    assert ran.returncode == 1
    assert said in ran.stderr
    assert "Traceback" not in ran.stderr
    assert smtp_sink[0].messages == []


def test_a_phone_number_given_to_the_email_channel_is_told_to_pick_the_sms_channel(
    workdir: Path, smtp_sink: tuple[SMTPSink, int]
) -> None:
    """Without --channel the campaign's first channel (e-mail) is used: a phone number
    there is refused with the way out, the campaign's SMS channel, and nothing sent."""
    ran = run_rapport("send-test", "birthday", "--to", "+98 912 123 4567", cwd=workdir)
    assert ran.returncode == 1
    assert ran.stderr.endswith(
        "(channel 'email' needs an e-mail address; for a phone number give --channel sms)\n"
    ), ran.stderr
    assert smtp_sink[0].messages == [] and not (workdir / "sms").exists()


def test_an_address_given_to_the_sms_channel_is_told_to_pick_the_email_channel(
    workdir: Path,
) -> None:
    ran = run_rapport(
        "send-test", "birthday", "--to", "a@example.com", "--channel", "sms", cwd=workdir
    )
    assert ran.returncode == 1
    assert ran.stderr.endswith(
        "(channel 'sms' needs a phone number in E.164 form; for an e-mail address give "
        "--channel email)\n"
    ), ran.stderr


def test_send_test_names_an_unknown_campaign(workdir: Path) -> None:
    ran = run_rapport("send-test", "nope", "--to", "a@example.com", cwd=workdir)
    assert (ran.returncode, ran.stderr.strip()) == (
        1,
        f"error: no campaign 'nope' in {REPO / 'campaigns'}",
    )


def test_preview_html_writes_the_campaign_page_for_sample_customers(tmp_path: Path) -> None:
    page = tmp_path / "birthday.html"
    ran = run_rapport(
        "--config", str(REPO / "config.yaml"), "preview", "birthday", "--html", str(page),
        cwd=tmp_path,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    html = page.read_text(encoding="utf-8")
    assert '<section class="locale" id="locale-fa"' in html
    assert 'lang="fa" dir="rtl"' in html
    assert '<iframe class="email" sandbox=""' in html
    assert 'http-equiv="Content-Security-Policy"' in html
    assert "script-src &#x27;none&#x27;" in html  # the file keeps its no-script policy
    assert "All campaigns" not in html  # the file has no link back to the web pages


def test_preview_without_html_still_needs_a_customer(tmp_path: Path) -> None:
    ran = run_rapport("--config", str(REPO / "config.yaml"), "preview", "birthday", cwd=tmp_path)
    assert ran.returncode == 2
    assert "--customer is required (except with --html)" in ran.stderr


def test_preview_html_into_a_missing_folder_is_the_users_mistake_naming_html(
    tmp_path: Path,
) -> None:
    """As report --html: it was 'error: No such file or directory: ...', exit 3."""
    page = tmp_path / "no-such-folder" / "birthday.html"
    ran = run_rapport(
        "--config", str(REPO / "config.yaml"), "preview", "birthday", "--html", str(page),
        cwd=tmp_path,
    )  # fmt: skip
    assert ran.returncode == 1, ran.stderr
    assert ran.stderr == f"error: --html: cannot write {page}: No such file or directory\n"


def test_send_test_greets_a_customer_in_the_language_of_the_templates_it_renders(
    workdir: Path, smtp_sink: tuple[SMTPSink, int]
) -> None:
    # No Arabic folder: an Arabic reader gets the English e-mail, greeted in English
    # ('Hi Laila'), as planning greets them, not 'مرحبًا Laila' inside English text.
    add_customer(workdir, "ARABIC", first_name="Laila", locale="ar_SA")
    sent = run_rapport(
        "send-test", "birthday", "--to", "m@example.com", "--customer", "ARABIC", cwd=workdir
    )
    assert sent.returncode == 0, sent.stderr
    body = smtp_sink[0].messages[-1]["message"].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Hi Laila" in body and "مرحبًا" not in body
