"""Campaign files: one YAML file per campaign under ``campaigns/``, validated.

The file name (without ``.yaml``) is the campaign's id, used in idempotency keys,
the CLI and reports; renaming a file therefore starts a new campaign. Every problem
is reported as FILE:LINE so a marketer can fix all of them in one pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from babel import Locale, UnknownLocaleError
from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from rapport.engine.campaigns.audience import Audience
from rapport.engine.campaigns.file_names import misnamed_campaign_files
from rapport.engine.campaigns.offers import offer_problems
from rapport.engine.core.config import Settings, Strict
from rapport.engine.core.errors import CampaignError, Problem
from rapport.engine.core.localtime import LocalDate, LocalTime
from rapport.engine.core.timeutil import zone_names
from rapport.engine.core.yamlsource import (
    YamlDocument,
    YamlSyntaxError,
    load_yaml,
    validate_document,
)
from rapport.engine.triggers.calendars import english_names_of, holiday_countries, holiday_names
from rapport.engine.triggers.models import EventTrigger, HolidayTrigger, TierReachedTrigger, Trigger
from rapport.engine.triggers.tones import is_substitute, tone_of

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
OfferValue = str | int | float | bool


Percent = Annotated[Decimal, Field(gt=0, le=100)]


def _one_folder(name: str) -> str:
    """Templates are read only inside ``templates/`` (see ``ConfinedLoader``): a template
    set is one folder there, never a path that would look into another."""
    if not name or name in (".", "..") or any(c in name for c in "/\\\0"):
        raise ValueError(
            f"{name!r}: must be a folder directly inside templates/ (no '/', '\\' or '..')"
        )
    return name


TemplateSet = Annotated[str, AfterValidator(_one_folder)]


def _shown_name(name: str) -> str:
    """What people call the campaign (reports, ``campaign.name`` in templates): blank,
    a report showed an empty heading and a template printed nothing."""
    if not name.strip():
        raise ValueError(
            "may not be empty: reports show it and templates print it as campaign.name"
        )
    return name


class Offer(Strict):
    """What a campaign gives. Known keys are checked; any other key passes to templates.

    A value may also be a mapping by loyalty tier (or RFM segment) with a ``default``,
    e.g. ``discount_percent: {insider: 10, vib: 15, rouge: 20}``; see engine/campaigns/offers.py.
    ``coupon: true`` adds a per-customer code derived with HMAC (stable on re-planning);
    ``coupon: "yes"`` is refused, as every quoted truth value (see ``Strict``).
    """

    model_config = ConfigDict(extra="allow", frozen=True)
    discount_percent: Percent | dict[str, Percent] | None = None
    coupon: bool | None = None
    code_prefix: Annotated[str, Field(pattern=r"^[A-Z0-9]{1,12}$")] | None = None
    code_length: Literal[8, 12, 16, 20] | None = None

    @property
    def gives(self) -> bool:
        """Whether the campaign gives something (a discount, a coupon, any offer key): a
        key with a value, as ``model_dump(exclude_none=True)`` keeps one, read without
        the dump (planning asks once per customer and campaign)."""
        if any(value is not None for value in self.__dict__.values()):
            return True
        return any(value is not None for value in (self.__pydantic_extra__ or {}).values())


class SendWindow(Strict):
    """Local time of day, in the recipient's time zone, during which sending is allowed."""

    start: LocalTime
    end: LocalTime

    @model_validator(mode="after")
    def _start_before_end(self) -> SendWindow:
        if self.start >= self.end:
            raise ValueError("start must be earlier than end")
        return self


class Frequency(Strict):
    """This campaign's own limits, on top of the global caps in config.yaml."""

    max_per_week: int | None = Field(None, ge=1)
    max_per_month: int | None = Field(None, ge=1)
    #: Days that must pass between two messages of this campaign to one customer.
    min_days_between: int | None = Field(None, ge=1)


class Variant(Strict):
    """One A/B variant: its own template set, chosen for a stable share of customers."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,30}$")
    weight: int = Field(1, ge=1)
    templates: TemplateSet


class Campaign(Strict):
    id: str = ""
    name: Annotated[str, AfterValidator(_shown_name)]
    description: str = ""
    trigger: Trigger
    topic: str
    channels: list[str] = Field(min_length=1)
    audience: Audience = Audience()
    send_window: SendWindow | None = None
    #: Send even after the window has closed, as long as the channel's allowed hours
    #: (quiet hours) still permit it that day.
    allow_late: bool = False
    templates: TemplateSet | None = None
    offer: Offer = Offer()
    priority: int = 100
    paused: bool = False
    starts_on: LocalDate | None = None
    ends_on: LocalDate | None = None
    frequency: Frequency = Frequency()
    #: Share of eligible customers (0-100) kept as a control group: recorded, never sent.
    holdout_percent: Decimal = Field(Decimal(0), ge=0, lt=100)
    variants: list[Variant] = Field(default=[])
    #: Most SMS segments one rendered text may cost; ``campaigns validate`` checks the
    #: sample texts against it, because a message of 3 segments is billed 3 times.
    sms_max_segments: int | None = Field(None, ge=1, le=10)
    source: str = Field(default="", exclude=True)

    # Checked on the fields, not the whole campaign, so the problem is at their line.
    @field_validator("ends_on")
    @classmethod
    def _not_before_start(cls, ends_on: date | None, info: ValidationInfo) -> date | None:
        starts_on = info.data.get("starts_on")
        if ends_on is not None and starts_on is not None and ends_on < starts_on:
            raise ValueError(f"is before starts_on ({starts_on.isoformat()})")
        return ends_on

    @field_validator("variants")
    @classmethod
    def _names_unique(cls, variants: list[Variant]) -> list[Variant]:
        seen: dict[str, int] = {}
        for index, variant in enumerate(variants):
            if (first := seen.setdefault(variant.name, index)) != index:
                raise ValueError(
                    f"{variant.name!r} names variants {first} and {index}; "
                    "each variant needs its own name"
                )
        return variants

    @property
    def template_set(self) -> str:
        """Folder under templates/ holding this campaign's templates."""
        return self.templates or self.id

    def template_sets(self) -> list[str]:
        """Every template set this campaign can render (validation renders them all)."""
        return [v.templates for v in self.variants] or [self.template_set]


def _cross_check(campaign: Campaign, doc: YamlDocument, settings: Settings) -> list[Problem]:
    """Checks that need the operator's configuration, not just the file."""
    problems = []
    if campaign.topic not in settings.topics:
        problems.append(
            Problem(
                doc.file,
                doc.line_of(("topic",)),
                f"unknown topic {campaign.topic!r}; configured topics: "
                + ", ".join(settings.topics),
                "topic",
            )
        )
    for index, channel in enumerate(campaign.channels):
        if channel not in settings.channels:
            problems.append(
                Problem(
                    doc.file,
                    doc.line_of(("channels", index)),
                    f"unknown channel {channel!r}; configured channels: "
                    + ", ".join(settings.channels),
                    f"channels.{index}",
                )
            )
    tiers = [level.name for level in settings.tiers.levels]
    tier_lists = [("audience", "tiers", campaign.audience.tiers)]
    if isinstance(campaign.trigger, TierReachedTrigger):
        tier_lists.append(("trigger", "tiers", campaign.trigger.tiers))
    for section, key, names in tier_lists:
        for index, tier in enumerate(names or []):
            if tier not in tiers:
                problems.append(
                    Problem(
                        doc.file,
                        doc.line_of((section, key, index)),
                        f"unknown tier {tier!r}; configured tiers: {', '.join(tiers)}",
                        f"{section}.{key}.{index}",
                    )
                )
    problems += _condition_problems(campaign, doc, tiers)
    trigger = campaign.trigger
    if isinstance(trigger, EventTrigger) and trigger.days >= settings.retention.event_days:
        problems.append(
            Problem(
                doc.file,
                doc.line_of(("trigger", "delay")),
                f"{trigger.delay} is not shorter than retention.event_days "
                f"({settings.retention.event_days}): the event is deleted before its occasion",
                "trigger.delay",
            )
        )
    problems += _holiday_name_problems(campaign, doc)
    problems += _mourning_problems(campaign, doc)
    for index, country in enumerate(campaign.audience.countries or []):
        if country not in _countries():
            problems.append(
                Problem(
                    doc.file,
                    doc.line_of(("audience", "countries", index)),
                    f"{country!r} is not an ISO 3166 country code (upper case, e.g. 'IR')",
                    f"audience.countries.{index}",
                )
            )
    for index, locale in enumerate(campaign.audience.locales or []):
        if not _known_locale(locale):
            problems.append(
                Problem(
                    doc.file,
                    doc.line_of(("audience", "locales", index)),
                    f"unknown locale {locale!r} (e.g. 'fa', 'fa_IR', 'zh_CN')",
                    f"audience.locales.{index}",
                )
            )
    for found in offer_problems(campaign.offer.model_dump(exclude_none=True), tiers):
        path = ("offer", *found.path) if found.path[:1] != ("offer",) else tuple(found.path)
        problems.append(
            Problem(doc.file, doc.line_of(path), found.message, ".".join(str(p) for p in path))
        )
    if len(set(campaign.channels)) != len(campaign.channels):
        problems.append(
            Problem(doc.file, doc.line_of(("channels",)), "a channel is listed twice", "channels")
        )
    return problems


def _condition_problems(campaign: Campaign, doc: YamlDocument, tiers: list[str]) -> list[Problem]:
    """``audience.where`` values that name a tier, country, locale or time zone must exist."""
    problems = []
    for index, condition in enumerate(campaign.audience.where or []):
        op, value = condition.operator
        for item in value if isinstance(value, list) else [value]:
            if condition.field == "tier" and item not in tiers:
                message = f"unknown tier {item!r}; configured tiers: {', '.join(tiers)}"
            elif condition.field == "country" and item not in _countries():
                message = f"{item!r} is not an ISO 3166 country code (upper case, e.g. 'IR')"
            elif condition.field in ("locale", "language") and not _known_locale(item):
                message = f"unknown {condition.field} {item!r} (e.g. 'fa', 'fa_IR', 'zh_CN')"
            elif condition.field == "timezone" and _folded(item) not in _time_zones():
                message = f"unknown time zone {item!r} (an IANA name, e.g. 'Asia/Tehran')"
            else:
                continue
            path = ("audience", "where", index, op)
            problems.append(Problem(doc.file, doc.line_of(path), message, ".".join(map(str, path))))
    return problems


def _holiday_name_problems(campaign: Campaign, doc: YamlDocument) -> list[Problem]:
    """A holiday ``names`` entry that no calendar has would silently never match."""
    trigger = campaign.trigger
    if not isinstance(trigger, HolidayTrigger) or not trigger.names:
        return []
    countries = campaign.audience.countries
    scope = tuple(sorted(countries)) if countries else None
    year = date.today().year
    known = holiday_names(scope, tuple(sorted(trigger.categories)), (year, year + 1))
    where = f"the calendars of {', '.join(scope)}" if scope else "any country's calendar"
    return [
        Problem(
            doc.file,
            doc.line_of(("trigger", "names", index)),
            f"no holiday in {where} ({', '.join(trigger.categories)}) has {name!r} in its "
            "English name" + _english_hint(name, scope, known),
            f"trigger.names.{index}",
        )
        for index, name in enumerate(trigger.names)
        if not any(name.casefold() in known_name.casefold() for known_name in known)
    ]


def _english_hint(name: str, scope: tuple[str, ...] | None, known: frozenset[str]) -> str:
    """For a name in the calendar's own language (``نوروز``): the English one to write."""
    meant = english_names_of(name, scope, known)
    return f"; names are English: write {' or '.join(map(repr, meant))}" if meant else ""


def _mourning_problems(campaign: Campaign, doc: YamlDocument) -> list[Problem]:
    """A day of mourning never gets an offer: not through ``tones: [mourning]``, not by
    naming a mourning holiday; and a ``names`` entry that only finds holidays
    ``tones`` leaves out would silently never match."""
    trigger = campaign.trigger
    if not isinstance(trigger, HolidayTrigger):
        return []
    offer = bool(campaign.offer.model_dump(exclude_none=True))
    problems = []
    if offer and "mourning" in trigger.tones:
        index = trigger.tones.index("mourning")
        problems.append(
            Problem(
                doc.file,
                doc.line_of(("trigger", "tones", index)),
                "a day of mourning never gets an offer or a congratulation: remove "
                "'mourning' from tones, or the offer (a mourning campaign may only send a "
                "message of condolence, without an offer)",
                f"trigger.tones.{index}",
            )
        )
    if not trigger.names:
        # Nothing to look up, and every country's calendar for two years is the most
        # costly thing loading campaigns does (a third of a second for `rapport explain`).
        return problems
    countries = campaign.audience.countries
    scope = tuple(sorted(countries)) if countries else None
    year = date.today().year
    known = holiday_countries(scope, tuple(sorted(trigger.categories)), (year, year + 1))
    for index, entry in enumerate(trigger.names):
        folded = entry.casefold()
        tones = {
            tone_of(country, name): name
            for name, codes in known.items()
            if folded in name.casefold() and not is_substitute(name)
            for country in codes
        }
        if not tones or set(tones) - {"mourning"}:
            if tones and not set(tones) & set(trigger.tones):
                problems.append(
                    Problem(
                        doc.file,
                        doc.line_of(("trigger", "names", index)),
                        f"{entry!r} finds only days of {' or '.join(sorted(tones))}, "
                        f"which tones ({', '.join(trigger.tones)}) leaves out: it would "
                        "never match",
                        f"trigger.names.{index}",
                    )
                )
            continue
        why = (
            "never gets an offer or a congratulation: remove it from names, or the offer"
            if offer
            else "is left out unless tones lists 'mourning' (condolence only, no offer)"
        )
        if offer or "mourning" not in trigger.tones:
            problems.append(
                Problem(
                    doc.file,
                    doc.line_of(("trigger", "names", index)),
                    f"{entry!r} names a day of mourning ({tones['mourning']}), which {why}",
                    f"trigger.names.{index}",
                )
            )
    return problems


@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    return frozenset(
        code for code in Locale("en").territories if isinstance(code, str) and len(code) == 2
    )


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    """Every IANA zone, as conditions compare text: case ignored, ``-`` equal to ``_``."""
    return frozenset(_folded(name) for name in zone_names())


def _folded(text: object) -> str:
    return str(text).replace("-", "_").casefold()


@lru_cache(maxsize=256)
def _known_locale(locale: str) -> bool:
    try:
        Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return False
    return True


def load_campaign(path: Path, settings: Settings, display: str | None = None) -> Campaign:
    """Load and validate one campaign file, raising :class:`CampaignError` with every problem."""
    name = display or str(path)
    try:
        doc = load_yaml(path, name)
    except YamlSyntaxError as exc:
        raise CampaignError([exc.problem]) from None
    campaign_id = path.stem
    if not ID_PATTERN.match(campaign_id):
        raise CampaignError(
            [
                Problem(
                    name,
                    None,
                    "file name must be a campaign id: lower-case letters, digits, '-' or '_'",
                )
            ]
        )
    if (twin := _earlier_twin(path)) is not None:
        why = f"{twin.name} holds the campaign {campaign_id!r} already: one file per campaign"
        raise CampaignError([Problem(name, None, f"{why} id; remove or rename one of them")])
    parsed, problems = validate_document(doc, Campaign)
    if parsed is None:
        raise CampaignError(problems)
    campaign = parsed.model_copy(update={"id": campaign_id, "source": name})
    problems = _cross_check(campaign, doc, settings)
    if problems:
        raise CampaignError(problems)
    return campaign


def campaign_files(directory: Path) -> list[Path]:
    return sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])


def _earlier_twin(path: Path) -> Path | None:
    """The file that holds ``path``'s campaign id first (``x.yaml`` before ``x.yml``):
    the file name is the id, so a second file with it is refused, and the first stays
    in force (a copy saved beside a running campaign changes nothing)."""
    for suffix in (".yaml", ".yml"):
        twin = path.with_suffix(suffix)
        if twin.name < path.name and twin.is_file():
            return twin
    return None


def load_campaigns(settings: Settings) -> tuple[list[Campaign], list[Problem]]:
    """Every campaign that loads, plus every problem of those that do not.

    Returning both lets ``plan`` refuse to run with a broken file while ``validate``
    still reports all files at once.
    """
    directory = settings.campaigns_path
    if not directory.is_dir():
        # Most often run outside the project (no config.yaml: ./campaigns looked for).
        why = "campaigns folder not found: run the command in the folder of the project's "
        why += "config.yaml (`rapport init` writes one), or give --config FILE; "
        return [], [Problem(str(directory), None, why + "its campaigns_dir names the folder")]
    campaigns: list[Campaign] = []
    problems = [Problem(_display_path(p), None, m) for p, m in misnamed_campaign_files(directory)]
    for path in campaign_files(directory):
        display = _display_path(path)
        try:
            campaigns.append(load_campaign(path, settings, display))
        except CampaignError as exc:
            problems.extend(exc.problems)
    return campaigns, problems


def require_campaigns(settings: Settings) -> list[Campaign]:
    campaigns, problems = load_campaigns(settings)
    if problems:
        raise CampaignError(problems)
    return campaigns


def find_campaign(campaigns: Iterable[Campaign], campaign_id: str) -> Campaign | None:
    return next((c for c in campaigns if c.id == campaign_id), None)


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
