"""A simple recommendation: the SKU most often bought together with a customer's own.

"Bought together" means bought by the same customer (an order holds one SKU, so a
customer's order history is their basket). A :class:`CoPurchase` index holds, for
each SKU, the SKUs its buyers also bought and by how many of them, best first. It is
built once per planning run from every customer's orders (:func:`load_co_purchase`),
then :func:`recommend` answers each customer from their own SKUs without touching
the database.

Memory stays bounded however many orders there are: a basket is counted once per
customer (distinct SKUs), only one basket is held at a time, baskets of more than
``max_basket`` SKUs (resellers, staff and test accounts) are left out, and each SKU
keeps at most ``top * slack`` partner counts while counting and ``top`` afterwards.
When a SKU gathers more partners than that, its counts are pruned to the
``top * slack / 2`` largest. Counts are therefore exact for a SKU with up to ``top *
slack`` partners and never overestimated otherwise: a partner is undercounted only
if it was pruned while it was rarer than the ones kept, so partners bought with the
SKU again and again keep counting while one-off partners fall away. A recommendation
is thus never driven by inflated counts, as it can be with stream summaries that let
a newcomer inherit an evicted count (Space-Saving).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from rapport.engine.core.models import ORDERS

__all__ = [
    "DEFAULT_MAX_BASKET",
    "DEFAULT_SLACK",
    "DEFAULT_TOP",
    "CoPurchase",
    "build_co_purchase",
    "load_co_purchase",
    "recommend",
]

DEFAULT_TOP = 10
DEFAULT_SLACK = 4
DEFAULT_MAX_BASKET = 50


@dataclass(frozen=True)
class CoPurchase:
    """SKU -> ((partner SKU, customers who bought both), ...), most bought first,
    ties by partner SKU."""

    partners: Mapping[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    #: How many customers' baskets were counted.
    baskets: int = 0

    def partners_of(self, sku: str) -> tuple[tuple[str, int], ...]:
        return self.partners.get(sku, ())


EMPTY = CoPurchase()


def recommend(index: CoPurchase, own_skus: Iterable[str]) -> str | None:
    """The SKU most often bought together with ``own_skus`` that is not one of them:
    each partner's counts summed over the customer's SKUs, ties by SKU name.
    ``None`` when the index knows no partner for them.

    >>> index = build_co_purchase([("a", "TEA"), ("a", "CUP"), ("b", "TEA"), ("b", "POT")])
    >>> recommend(index, ["TEA"]), recommend(index, ["TEA", "CUP"]), recommend(index, ["JAM"])
    ('CUP', 'POT', None)
    """
    own = set(own_skus)
    partners = index.partners
    scores: dict[str, int] = {}  # a plain dict: called once per message, Counter costs more
    for sku in own:
        for partner, count in partners.get(sku, ()):
            if partner not in own:
                scores[partner] = scores.get(partner, 0) + count
    if not scores:
        return None
    return min(scores.items(), key=_rank)[0]


def _rank(item: tuple[str, int]) -> tuple[int, str]:
    """Most bought together first, then by SKU."""
    return -item[1], item[0]


class _TopCounter:
    """Exact counts, pruned to the ``keep`` largest whenever more than ``limit``."""

    __slots__ = ("counts", "keep", "limit")

    def __init__(self, limit: int, keep: int) -> None:
        self.limit = limit
        self.keep = keep
        self.counts: dict[str, int] = {}

    def add(self, item: str) -> None:
        counts = self.counts
        counts[item] = counts.get(item, 0) + 1
        if len(counts) > self.limit:
            self.counts = dict(_ranked(counts)[: self.keep])

    def top(self, n: int) -> tuple[tuple[str, int], ...]:
        return tuple(_ranked(self.counts)[:n])


def _ranked(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def build_co_purchase(
    rows: Iterable[tuple[str, str]],
    *,
    top: int = DEFAULT_TOP,
    slack: int = DEFAULT_SLACK,
    max_basket: int = DEFAULT_MAX_BASKET,
) -> CoPurchase:
    """The index from ``(customer_id, sku)`` rows, one per order line.

    Rows must come grouped by customer (all of one customer's rows together, as
    ``order by customer_id`` gives); the order within a customer does not matter.
    Only one basket is held at a time.
    """
    if top < 1 or slack < 1 or max_basket < 2:
        raise ValueError("top and slack must be at least 1, max_basket at least 2")
    limit = top * slack
    keep = max(top, limit // 2)
    counters: dict[str, _TopCounter] = {}
    names: dict[str, str] = {}  # one string object per SKU, however many rows name it
    baskets = 0
    for basket in _baskets(rows):
        if len(basket) < 2:
            baskets += 1
            continue
        if len(basket) > max_basket:
            continue
        baskets += 1
        skus = sorted(names.setdefault(sku, sku) for sku in basket)
        for sku in skus:
            counter = counters.get(sku)
            if counter is None:
                counter = counters[sku] = _TopCounter(limit, keep)
            for partner in skus:
                if partner != sku:
                    counter.add(partner)
    partners = {sku: counter.top(top) for sku, counter in sorted(counters.items())}
    return CoPurchase(partners, baskets)


def _baskets(rows: Iterable[tuple[str, str]]) -> Iterator[set[str]]:
    """The distinct SKUs of each customer, from rows grouped by customer."""
    current: str | None = None
    basket: set[str] = set()
    for customer_id, sku in rows:
        if customer_id != current:
            if basket:
                yield basket
            current, basket = customer_id, set()
        basket.add(sku)
    if basket:
        yield basket


def load_co_purchase(
    connection: Any,
    *,
    as_of: datetime | None = None,
    top: int = DEFAULT_TOP,
    slack: int = DEFAULT_SLACK,
    max_basket: int = DEFAULT_MAX_BASKET,
    chunk: int = 10_000,
) -> CoPurchase:
    """Build the index from every customer's orders in one streamed query.

    ``connection`` is a SQLAlchemy connection; ``as_of`` leaves out orders placed
    after it, so planning a past date recommends from the orders known then (pass
    the planner's history cutoff). Rows are fetched ``chunk`` at a time through a
    server-side cursor where the database has one.
    """
    query = select(ORDERS.c.customer_id, ORDERS.c.sku).order_by(ORDERS.c.customer_id)
    if as_of is not None:
        query = query.where(ORDERS.c.ordered_at <= as_of)
    result = connection.execute(query.execution_options(yield_per=chunk))
    try:
        rows = ((customer_id, sku) for customer_id, sku in result)
        return build_co_purchase(rows, top=top, slack=slack, max_basket=max_basket)
    finally:
        result.close()
