"""``rapport campaigns validate`` renders every template for a covering set of customers.

One typical sample customer misses a typo in a branch only another tier, stage, RFM
segment, a customer without orders, an A/B variant or one locale's SMS reaches. Each
test writes a campaign with one such typo into a scratch folder, runs the real command
there and expects the typo's ``FILE:LINE``, named once, with the value that reached it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from factories import REPO, Ran, run_rapport

from rapport.engine.campaigns.coverage import covering_traits
from rapport.engine.campaigns.model import Campaign
from rapport.engine.campaigns.samples import TYPICAL
from rapport.engine.core.config import STAGES, Settings
from rapport.engine.customers.lifecycle import SEGMENTS

BIRTHDAY = """\
name: {name}
trigger: {{type: birthday}}
topic: birthday
channels: [{channels}]
"""

SUBJECT = "Happy birthday{% if customer.first_name %}, {{ customer.first_name }}{% endif %}!\n"
SMS = "{{ customer.salutation }}, happy birthday! Reply STOP to opt out\n"


def email_body(branch: str) -> str:
    """An e-mail body whose line 3 is ``branch``: a typo only some customers reach."""
    return (
        f"{{{{ customer.salutation }}}},\n\n{branch}\nPreferences: {{{{ links.preferences }}}}\n"
        "{{ links.unsubscribe }}\n{{ sender.postal_address }}\n"
    )


GOOD_BODY = email_body("We wish you a lovely day.")


def workspace(tmp_path: Path) -> Path:
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "templates").mkdir()
    (tmp_path / "config.yaml").write_text(
        "database: {url: 'sqlite:///rapport.db'}\n", encoding="utf-8"
    )
    return tmp_path


def campaign(root: Path, campaign_id: str, text: str | None = None, sms: bool = False) -> None:
    body = text or BIRTHDAY.format(name=campaign_id, channels="email, sms" if sms else "email")
    (root / "campaigns" / f"{campaign_id}.yaml").write_text(body, encoding="utf-8")


def templates(root: Path, template_set: str, locale: str, files: dict[str, str]) -> None:
    folder = root / "templates" / template_set / locale
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


def validate(root: Path) -> Ran:
    return run_rapport("campaigns", "validate", cwd=root)


def problem_lines(result: Ran, where: str) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith(where)]


@pytest.mark.parametrize(
    ("branch", "reached"),
    [
        (
            '{% if customer.tier == "rouge" %}{{ customer.nmae }}{% endif %}',
            "customer.tier = rouge",
        ),
        (
            '{% if customer.stage == "at_risk" %}{{ customer.nmae }}{% endif %}',
            "customer.stage = at_risk",
        ),
        (
            '{% if customer.segment == "cant_lose" %}{{ customer.nmae }}{% endif %}',
            "customer.segment = cant_lose",
        ),
        (
            "{% if last_order %}Thank you for your order.{% else %}{{ customer.nmae }}{% endif %}",
            "no orders (last_order = None)",
        ),
        (
            "{% if not customer.first_name %}{{ customer.nmae }}{% endif %}",
            "customer.first_name and last_name empty",
        ),
        (
            "{% if recommendation %}Try {{ recommendation }}."
            "{% else %}{{ customer.nmae }}{% endif %}",
            "recommendation = None",
        ),
    ],
    ids=["tier", "stage", "segment", "no-last-order", "no-names", "no-recommendation"],
)
def test_a_typo_only_one_value_reaches_is_reported_once_with_file_line_and_that_value(
    tmp_path: Path, branch: str, reached: str
) -> None:
    root = workspace(tmp_path)
    campaign(root, "wishes")
    templates(root, "wishes", "en", {"email_subject.txt": SUBJECT, "email.txt": email_body(branch)})
    result = validate(root)
    assert result.returncode == 1, result.stdout
    found = problem_lines(result, "templates/wishes/en/email.txt:3:")
    assert len(found) == 1, result.stderr  # en, fa and zh customers all reach it: once
    assert "nmae" in found[0] and f"(with {reached})" in found[0], found
    assert "Traceback" not in result.stderr


def test_a_typo_in_one_ab_variant_is_reported_in_that_variants_file(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    campaign(
        root,
        "split",
        BIRTHDAY.format(name="Split", channels="email")
        + "variants:\n  - {name: a, templates: split-a}\n  - {name: b, templates: split-b}\n",
    )
    templates(root, "split-a", "en", {"email_subject.txt": SUBJECT, "email.txt": GOOD_BODY})
    templates(
        root,
        "split-b",
        "en",
        {"email_subject.txt": SUBJECT, "email.txt": email_body("{{ offer.discount_percnt }}")},
    )
    result = validate(root)
    assert result.returncode == 1, result.stdout
    assert problem_lines(result, "templates/split-b/en/email.txt:3:"), result.stderr
    assert not problem_lines(result, "templates/split-a/"), result.stderr


def test_a_typo_only_in_one_locales_sms_is_reported_in_that_file(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    campaign(root, "wishes", sms=True)
    for locale in ("en", "fa", "zh"):
        templates(
            root,
            "wishes",
            locale,
            {"email_subject.txt": SUBJECT, "email.txt": GOOD_BODY, "sms.txt": SMS},
        )
    templates(
        root,
        "wishes",
        "fa",
        {
            "sms.txt": "{{ customer.salutation }}\n"
            '{% if customer.tier == "rouge" %}{{ offer.cod }}{% endif %} STOP\n'
        },
    )
    result = validate(root)
    assert result.returncode == 1, result.stdout
    found = problem_lines(result, "templates/wishes/fa/sms.txt:2:")
    assert len(found) == 1 and "(with customer.tier = rouge)" in found[0], result.stderr
    assert not problem_lines(result, "templates/wishes/en/"), result.stderr
    assert not problem_lines(result, "templates/wishes/zh/"), result.stderr


def test_a_typo_every_customer_reaches_names_no_value(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    campaign(root, "wishes")
    templates(
        root,
        "wishes",
        "en",
        {"email_subject.txt": SUBJECT, "email.txt": email_body("{{ customer.nmae }}")},
    )
    result = validate(root)
    found = problem_lines(result, "templates/wishes/en/email.txt:3:")
    assert len(found) == 1 and "(with" not in found[0], result.stderr


def test_a_branch_no_customer_of_the_campaign_can_take_is_not_blamed(tmp_path: Path) -> None:
    """A reorder is about an order: its template may rightly assume a last order, and a
    campaign for the ``rouge`` tier only never renders the other tiers' branches."""
    root = workspace(tmp_path)
    campaign(
        root,
        "refill",
        "name: Refill\ntrigger: {type: reorder, days_after: 30}\ntopic: reorder\n"
        "channels: [email]\naudience: {tiers: [rouge]}\n",
    )
    branch = (
        "Your last order: {{ last_order.id }}"
        '{% if customer.tier != "rouge" %}{{ customer.nmae }}{% endif %}'
    )
    templates(root, "refill", "en", {"email_subject.txt": SUBJECT, "email.txt": email_body(branch)})
    result = validate(root)
    assert result.returncode == 0, result.stderr


def test_the_shipped_campaigns_still_validate(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        f"database: {{url: 'sqlite:///rapport.db'}}\ncampaigns_dir: {REPO / 'campaigns'}\n"
        f"templates_dir: {REPO / 'templates'}\n",
        encoding="utf-8",
    )
    result = validate(tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.search(r"\d+ campaigns? valid", result.stdout)


def test_the_covering_set_holds_every_tier_stage_segment_and_tone() -> None:
    settings = Settings()
    holiday = Campaign.model_validate(
        {
            "name": "Holidays",
            "trigger": {"type": "holiday", "tones": ["celebration", "observance", "mourning"]},
            "topic": "offers",
            "channels": ["email"],
        }
    )
    traits = covering_traits(holiday, settings)
    assert traits[0] == TYPICAL
    assert {t.tier for t in traits} >= {level.name for level in settings.tiers.levels}
    assert {t.stage for t in traits} >= set(STAGES) - {"prospect"}
    assert {t.segment for t in traits} >= set(SEGMENTS)
    assert {t.tone for t in traits} >= {"celebration", "observance", "mourning"}
    assert any(not t.ordered and not t.named and not t.recommendation for t in traits)
    assert len(traits) <= len(SEGMENTS) + 2  # a covering set, not the product
