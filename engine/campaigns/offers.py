"""Personal offers: values per loyalty tier or RFM segment, and a coupon code per customer.

An offer value in a campaign file is either the same for everyone or a mapping keyed
by tier names or by RFM segment names (one or the other, not both), with an optional
``default`` for everyone the mapping does not name::

    offer:
      discount_percent: {insider: 10, vib: 15, rouge: 20}
      gift: {champions: Travel kit, loyal: Sample set, default: Tote bag}
      coupon: true          # a personal code, shown to templates as offer.code
      code_prefix: BDAY     # optional: BDAY-7KX9-M2QF-T4WN
      code_length: 12       # optional: 8, 12 (the default), 16 or 20 characters

:func:`resolve_offer` picks each value for one customer (their tier, else their
segment, else ``default``); :func:`offer_problems` is what campaign validation
reports, so a mapping that leaves some customer without a value never loads.

Money in offers
---------------
``amount_off`` (a fixed amount off, per tier or segment like any value) is written in
the tier base currency and shown in the customer's own currency
(:func:`~rapport.engine.customers.lifecycle.customer_currency`): :func:`personal_offer`
converts it with ``tiers.rates`` and rounds it half up to that currency's CLDR digits
(``amount_off: 10`` with ``IRR: 0.0000238`` is 420168 rials; CNY at 0.14 is 71.43).
A campaign cannot give per-currency amounts: the rates are the one source of
conversion, so every customer gets the same value whatever their currency.

Coupon codes
------------
:func:`coupon_code` is HMAC-SHA256, keyed by the operator's secret key, over the
campaign id, the customer id and the occasion key. Re-planning the same occasion, on
any machine sharing the key, gives the same code; a new occasion (next year's
birthday) gives a new one; without the key nobody can compute a customer's code.
The code is written in a 32-letter alphabet without the look-alikes 0/O and 1/I
(``23456789ABCDEFGHJKLMNPQRSTUVWXYZ``), in groups of four after the optional prefix.

Codes are not stored, so uniqueness is a matter of odds. Each character carries 5
bits; among ``n`` codes of ``L`` characters the expected number of pairs sharing a
code is about ``n**2 / 2**(5*L + 1)``:

==========  ===================  ====================  =====================
characters  10 000 codes         100 000 codes         1 000 000 codes
==========  ===================  ====================  =====================
8           0.000 045            0.0045                0.45
12          4.3e-11              4.3e-9                4.3e-7
16          4.1e-17              4.1e-15               4.1e-13
==========  ===================  ====================  =====================

Eight characters therefore suit a small shop (or a shop that checks codes for
uniqueness when it imports them); the default of twelve keeps a million customers a
year comfortably collision-free. The same figures bound guessing: one random try
hits one of ``n`` live codes with probability ``n / 2**(5*L)``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from rapport.engine.core.config import TierConfig
from rapport.engine.core.errors import CampaignError, Problem
from rapport.engine.customers.lifecycle import SEGMENTS, from_base_currency, round_money

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTHS",
    "CONTROL_KEYS",
    "DEFAULT",
    "DEFAULT_CODE_LENGTH",
    "MONEY_KEYS",
    "OfferError",
    "OfferProblem",
    "coupon_code",
    "offer_problems",
    "personal_offer",
    "resolve_offer",
]

#: 32 symbols, 5 bits each: digits and upper-case letters without 0, O, 1 and I.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTHS = (8, 12, 16, 20)
DEFAULT_CODE_LENGTH = 12
#: The key of a per-tier or per-segment mapping that applies to everyone else.
DEFAULT = "default"
#: Offer keys that steer the coupon code; they cannot vary by tier or segment.
CONTROL_KEYS = ("coupon", "code_prefix", "code_length")
#: Offer keys that are money in the tier base currency, shown in the customer's own.
MONEY_KEYS = ("amount_off",)

_PREFIX = re.compile(r"^[A-Z0-9]{1,12}$")
_GROUP = 4
_SCALARS = (str, int, float, Decimal)


class OfferError(CampaignError):
    """An offer value has no entry for a customer's tier or segment and no ``default``.

    Campaign validation (:func:`offer_problems`) keeps such a file from loading, so
    this means the tiers in config.yaml changed under a running daemon.
    """


@dataclass(frozen=True)
class OfferProblem:
    """One thing wrong with a campaign's ``offer``; ``path`` locates it in the YAML."""

    path: tuple[str, ...]
    message: str

    @property
    def field(self) -> str:
        return ".".join(self.path)


def resolve_offer(
    offer: Mapping[str, Any],
    tier: str | None,
    segment: str | None = None,
    *,
    source: str = "offer",
) -> dict[str, Any]:
    """The offer as one customer sees it: each per-tier or per-segment mapping
    replaced by the customer's value (tier first, then segment, then ``default``).

    ``offer`` is the campaign's plain offer, ``campaign.offer.model_dump(
    exclude_none=True)``. Raises :class:`OfferError` when a mapping has no value;
    ``source`` (the campaign file) says where.
    """
    resolved: dict[str, Any] = {}
    for key, value in offer.items():
        if not isinstance(value, Mapping):
            resolved[key] = value
            continue
        for choice in (tier, segment, DEFAULT):
            if choice is not None and choice in value:
                resolved[key] = value[choice]
                break
        else:
            message = (
                f"no value for tier {tier!r}"
                + (f" or segment {segment!r}" if segment else "")
                + f" and no {DEFAULT!r}"
            )
            raise OfferError([Problem(source, None, message, f"offer.{key}")])
    return resolved


def coupon_code(
    key: str | bytes,
    campaign_id: str,
    customer_id: str,
    occasion_key: str,
    *,
    prefix: str | None = None,
    length: int = DEFAULT_CODE_LENGTH,
) -> str:
    """A customer's personal code for one occasion of one campaign, e.g.
    ``BDAY-7KX9-M2QF-T4WN``: the same inputs always give the same code.

    >>> coupon_code("k", "birthday", "C-1", "birthday:2026", prefix="BDAY", length=8)
    'BDAY-Q2CK-N8VN'
    """
    if length not in CODE_LENGTHS:
        raise ValueError(f"code length must be one of {CODE_LENGTHS}, not {length}")
    secret = key.encode() if isinstance(key, str) else key
    if not secret:
        raise ValueError("a secret key is required to derive coupon codes")
    message = _framed(("rapport.coupon.v1", campaign_id, customer_id, occasion_key))
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    bits = int.from_bytes(digest, "big") >> (len(digest) * 8 - 5 * length)
    symbols = [CODE_ALPHABET[(bits >> (5 * i)) & 31] for i in reversed(range(length))]
    groups = ["".join(symbols[i : i + _GROUP]) for i in range(0, length, _GROUP)]
    return "-".join([prefix.upper(), *groups] if prefix else groups)


def _framed(parts: Iterable[str]) -> bytes:
    """Each part preceded by its length, so no two different tuples share a message."""
    out = bytearray()
    for part in parts:
        data = part.encode()
        out += len(data).to_bytes(4, "big") + data
    return bytes(out)


#: Holiday tones whose days get no offer, whatever the campaign offers (docs/campaigns.md,
#: ``tones``): a template is given an empty ``offer`` on an observance or a day of
#: mourning, so no discount or code can reach one through a marketer's template.
NO_OFFER_TONES = frozenset({"observance", "mourning"})


def personal_offer(
    offer: Mapping[str, Any],
    *,
    tier: str | None,
    segment: str | None,
    campaign_id: str,
    customer_id: str,
    occasion_key: str,
    key: str | bytes | None,
    source: str = "offer",
    currency: str | None = None,
    tiers: TierConfig | None = None,
) -> dict[str, Any]:
    """:func:`resolve_offer`, plus ``code`` when the offer has ``coupon: true``.

    ``key`` is only needed for a coupon; pass ``rapport.engine.core.keys.secret_key(settings)``.
    With ``currency`` (the customer's) and ``tiers`` (the rates), each money value
    (:data:`MONEY_KEYS`, written in the base currency) is converted into ``currency``
    and rounded to its CLDR digits; without them it stays as written.
    """
    resolved = resolve_offer(offer, tier, segment, source=source)
    if currency is not None and tiers is not None:
        for name in MONEY_KEYS:
            if name in resolved:
                resolved[name] = _converted(resolved[name], currency, tiers)
    if resolved.get("coupon") is True:
        if key is None:
            raise ValueError("offer.coupon is on but no secret key was given")
        resolved["code"] = coupon_code(
            key,
            campaign_id,
            customer_id,
            occasion_key,
            prefix=resolved.get("code_prefix"),
            length=int(resolved.get("code_length", DEFAULT_CODE_LENGTH)),
        )
    return resolved


def _converted(value: Any, currency: str, tiers: TierConfig) -> Any:
    """A base-currency amount in ``currency``, rounded; a value that is not a number
    (validation refuses it) or a currency without a rate is left as it is."""
    if isinstance(value, bool) or not isinstance(value, _SCALARS):
        return value
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return value
    converted = from_base_currency(amount, currency, tiers)
    return value if converted is None else round_money(converted, currency)


# --------------------------------------------------------------------------- validation


def offer_problems(offer: Mapping[str, Any], tiers: Iterable[str]) -> list[OfferProblem]:
    """Everything wrong with a campaign's plain offer, given the configured tier names.

    A mapping must be keyed by tier names or by segment names (plus ``default``),
    hold plain values, and leave nobody without a value: a tier mapping needs every
    tier or a ``default``; a segment mapping always needs ``default``, because a
    customer who never ordered has no segment.
    """
    tier_names = list(tiers)
    problems: list[OfferProblem] = []
    for key, value in offer.items():
        path = ("offer", key)
        if key in CONTROL_KEYS:
            problems += _control_problems(key, value, offer)
        elif isinstance(value, Mapping):
            problems += _mapping_problems(path, value, tier_names)
        elif isinstance(value, list | tuple):
            problems.append(OfferProblem(path, "must be a single value or a mapping by tier"))
        if key == "discount_percent":
            values = value.items() if isinstance(value, Mapping) else [(None, value)]
            for name, percent in values:
                if not _is_percent(percent):
                    where = (*path, name) if name is not None else path
                    problems.append(OfferProblem(where, "must be a number above 0, at most 100"))
        if key in MONEY_KEYS:
            values = value.items() if isinstance(value, Mapping) else [(None, value)]
            for name, amount in values:
                if not _is_amount(amount):
                    where = (*path, name) if name is not None else path
                    problems.append(
                        OfferProblem(where, "must be a number above 0, in the base currency")
                    )
    return problems


def _mapping_problems(
    path: tuple[str, ...], value: Mapping[Any, Any], tiers: list[str]
) -> list[OfferProblem]:
    names = [str(k) for k in value if k != DEFAULT]
    if not value:
        return [OfferProblem(path, "an empty mapping gives nobody a value")]
    problems = [
        OfferProblem((*path, str(k)), "must be a single value, not a list or mapping")
        for k, v in value.items()
        if not isinstance(v, _SCALARS) and v is not None
    ]
    by_tier = [n for n in names if n in tiers]
    by_segment = [n for n in names if n in SEGMENTS and n not in tiers]
    for name in names:
        if name not in tiers and name not in SEGMENTS:
            problems.append(
                OfferProblem(
                    (*path, name),
                    f"unknown tier or segment {name!r}; tiers: {', '.join(tiers)}; "
                    f"segments: {', '.join(SEGMENTS)}; or {DEFAULT!r}",
                )
            )
    if by_tier and by_segment:
        problems.append(
            OfferProblem(path, "key it by tiers or by segments, not both (plus 'default')")
        )
    if DEFAULT in value:
        return problems
    if by_segment:
        problems.append(
            OfferProblem(path, "a mapping by segment needs 'default' (customers without orders)")
        )
    elif missing := [t for t in tiers if t not in value]:
        problems.append(
            OfferProblem(path, f"no value for tier {', '.join(missing)}; add it or 'default'")
        )
    return problems


def _control_problems(key: str, value: Any, offer: Mapping[str, Any]) -> list[OfferProblem]:
    path = ("offer", key)
    if key == "coupon":
        return [] if isinstance(value, bool) else [OfferProblem(path, "must be true or false")]
    problems = []
    if offer.get("coupon") is not True:
        problems.append(OfferProblem(path, "has no effect without coupon: true"))
    if key == "code_prefix" and not (isinstance(value, str) and _PREFIX.match(value)):
        problems.append(OfferProblem(path, "must be 1-12 upper-case letters or digits"))
    if key == "code_length" and (isinstance(value, bool) or value not in CODE_LENGTHS):
        problems.append(OfferProblem(path, f"must be one of {', '.join(map(str, CODE_LENGTHS))}"))
    return problems


def _positive_number(value: Any) -> Decimal | None:
    """``value`` as a finite positive Decimal, or None (booleans and text refused)."""
    if isinstance(value, bool) or not isinstance(value, _SCALARS):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() and number > 0 else None


def _is_percent(value: Any) -> bool:
    number = _positive_number(value)
    return number is not None and number <= 100


def _is_amount(value: Any) -> bool:
    number = _positive_number(value)
    return number is not None and number < 10**14
