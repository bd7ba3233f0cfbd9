"""SMS through Twilio's Messaging API, or any provider that speaks the same protocol.

One long-lived ``httpx.AsyncClient`` (HTTP Basic auth with the account SID and auth
token), opened on first use and closed in :meth:`TwilioSMSChannel.aclose`. Redirects
are never followed. ``base_url`` points elsewhere for a compatible provider or a test
server on loopback.

Request::

    POST {base_url}/2010-04-01/Accounts/{account_sid}/Messages.json
    Authorization: Basic base64(account_sid:auth_token)
    Content-Type: application/x-www-form-urlencoded
    I-Twilio-Idempotency-Token: <idempotency_key>      same value on every retry

    To=%2B989121234567&From=%2B15550100&Body=...       (MessagingServiceSid=MG... may
                                                        replace or accompany From)

Replies, all decided in :func:`twilio_result`:

* ``200``/``201`` -> accepted; the JSON ``sid`` (``SM...``) is the provider id.
* ``408``, ``429`` and ``5xx`` -> transient; a ``Retry-After`` header (seconds or an
  HTTP date) becomes the result's ``retry_after``.
* ``400`` with Twilio error code 21211 (invalid ``To``), 21610 (recipient replied
  STOP) or 21614 (not a mobile number) -> permanent, and the number is suppressed.
* any other ``3xx``/``4xx`` -> permanent, the Twilio code kept in the reason.
* connection errors and timeouts -> transient (:func:`~rapport.channels.http_sms.
  http_error_result`, shared with the generic SMS adapter); ``reached=False`` when the
  connection could not be made, so the request never left.

Twilio's error ``message`` repeats the phone number, so reasons carry only the HTTP
status and the numeric code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from rapport.channels.base import Channel, OutgoingMessage, SendResult
from rapport.channels.hosts import address_problem
from rapport.channels.http_reply import bounded_post
from rapport.channels.http_sms import (
    HTTPReply,
    http_error_result,
    json_object,
    transient_reply,
)
from rapport.channels.mime import HeaderInjectionError, check_header_value
from rapport.channels.options import ENV_SUFFIX, OptionProblem
from rapport.channels.provider_codes import SUPPRESS_CODES

__all__ = ["DEFAULT_BASE_URL", "SUPPRESS_CODES", "TwilioSMSChannel", "twilio_result"]

DEFAULT_BASE_URL: Final = "https://api.twilio.com"
_TRANSIENT_STATUS: Final = frozenset({408, 425, 429})
_SID = re.compile(r"^[A-Za-z0-9_-]+$")


def twilio_result(response: HTTPReply) -> SendResult:
    """Translate Twilio's reply into an outcome (see the module docstring)."""
    status = response.status_code
    if 200 <= status < 300:
        sid = json_object(response).get("sid")
        return SendResult.accepted(str(sid) if sid is not None else None)
    code = json_object(response).get("code")
    detail = f" Twilio error {code}" if isinstance(code, int) else ""
    if status in _TRANSIENT_STATUS or status >= 500:
        return transient_reply(response, f"HTTP {status}{detail}")
    if isinstance(code, int) and code in SUPPRESS_CODES:
        return SendResult.permanent(f"HTTP {status}{detail}: {SUPPRESS_CODES[code]}", suppress=True)
    if 300 <= status < 400:
        return SendResult.permanent(f"HTTP {status}: provider redirected; redirects not followed")
    return SendResult.permanent(f"HTTP {status}{detail}")


class TwilioSMSChannel(Channel):
    """Send SMS with Twilio's ``Messages.json`` API."""

    name = "twilio"
    kinds = frozenset({"sms"})
    #: Twilio refuses longer bodies (error 21617).
    max_body_chars = 1600
    supports_html = False
    #: One US long code's throughput; configure a rate for a short code, a toll-free
    #: number or a messaging service with several senders.
    rate_per_second = 1.0
    secret_options = frozenset({"auth_token"})

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10,
    ) -> None:
        options: dict[str, str | None] = {"account_sid": account_sid, "base_url": base_url}
        options |= {"auth_token": auth_token, "from_number": from_number}
        options["messaging_service_sid"] = messaging_service_sid
        if problems := self.value_problems(options):
            raise ValueError(problems[0].message)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.url = f"{self.base_url}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._client: httpx.AsyncClient | None = None

    @classmethod
    def value_problems(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        """What the constructor refuses, found at load (an ``X_env`` option counts as
        given: its variable is read when the channel is built)."""

        def given(key: str) -> bool:
            return bool(options.get(key)) or key + ENV_SUFFIX in options

        problems = []
        sid = options.get("account_sid")
        if isinstance(sid, str) and not _SID.match(sid):
            problems.append(
                OptionProblem("account_sid", "account_sid must be letters, digits, '-' or '_'")
            )
        if options.get("auth_token") == "":
            problems.append(OptionProblem("auth_token", "auth_token is empty"))
        if not given("from_number") and not given("messaging_service_sid"):
            problems.append(
                OptionProblem(None, "give from_number or messaging_service_sid (or both)")
            )
        if isinstance(url := options.get("base_url"), str):
            try:
                parts = urlsplit(url)
                problem = address_problem(parts)
            except ValueError:  # an IPv6 literal left open
                parts, problem = urlsplit(""), None
            if parts.scheme not in {"http", "https"} or not parts.hostname:
                problem = "must be http:// or https:// with a host"
            if problem is not None:
                problems.append(OptionProblem("base_url", f"base_url: {problem}"))
        return problems

    def options(self) -> dict[str, Any]:
        return {
            "account_sid": self.account_sid,
            "auth_token": self.auth_token,
            "from_number": self.from_number,
            "messaging_service_sid": self.messaging_service_sid,
            "base_url": self.base_url,
            "timeout": self.timeout,
        }

    def _http(self) -> httpx.AsyncClient:
        """The one client this adapter uses; created on first send."""
        if self._client is None:
            self._client = httpx.AsyncClient(
                auth=httpx.BasicAuth(self.account_sid, self.auth_token),
                timeout=self.timeout,
                follow_redirects=False,
            )
        return self._client

    def form(self, message: OutgoingMessage) -> dict[str, str]:
        """The form fields of the request for ``message``."""
        fields = {"To": message.to, "Body": message.text}
        if self.from_number:
            fields["From"] = self.from_number
        if self.messaging_service_sid:
            fields["MessagingServiceSid"] = self.messaging_service_sid
        return fields

    async def send(self, message: OutgoingMessage) -> SendResult:
        if refused := self.unsupported(message):
            return refused
        try:
            check_header_value(
                "I-Twilio-Idempotency-Token", message.idempotency_key, "idempotency_key"
            )
        except HeaderInjectionError as exc:
            return SendResult.permanent(str(exc))
        try:
            response = await bounded_post(
                self._http(),
                self.url,
                self.timeout,
                data=self.form(message),
                headers={"I-Twilio-Idempotency-Token": message.idempotency_key},
            )
        except httpx.HTTPError as exc:
            if (result := http_error_result(exc)) is None:  # pragma: no cover - all mapped
                raise
        else:
            result = twilio_result(response)
        return result

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
