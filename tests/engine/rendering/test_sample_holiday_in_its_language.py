"""A campaign that names its holidays (``names: [Nowruz]``, as docs/campaigns.md's
``nowruz.yaml``) is previewed with the holiday named as its customers read it.

The samples of ``preview``, ``send-test`` and ``campaigns validate`` took the name as
the campaign writes it, in English, for every language: the Persian preview of the
Nowruz greeting read "جشن Nowruz مبارک", where a customer in Iran gets "جشن نوروز
مبارک". The sample customer's country has the holiday, so its calendar's own name in
the sample's language is used, as planning uses it (docs/localization.md); a holiday
that calendar lacks keeps the written name (in English, as for a real customer).
"""

from __future__ import annotations

from rapport.engine.campaigns.model import Campaign
from rapport.engine.campaigns.samples import sample_context
from rapport.engine.core.config import Settings
from rapport.engine.triggers.models import HolidayTrigger


def naming(campaign: Campaign, *names: str) -> Campaign:
    return campaign.model_copy(
        update={"trigger": HolidayTrigger(type="holiday", names=list(names))}
    )


def test_the_persian_sample_of_a_nowruz_campaign_names_nowruz_in_persian(
    campaigns: dict[str, Campaign], settings: Settings
) -> None:
    nowruz = naming(campaigns["holiday-offer"], "Nowruz")
    occasion = sample_context("fa_IR", nowruz, settings=settings)["occasion"]
    assert occasion["name"] == "جشن نوروز"


def test_the_english_sample_of_a_nowruz_campaign_names_it_as_written(
    campaigns: dict[str, Campaign], settings: Settings
) -> None:
    nowruz = naming(campaigns["holiday-offer"], "Nowruz")
    assert sample_context("en", nowruz, settings=settings)["occasion"]["name"] == "Nowruz"
