"""Operator configuration: config.yaml, validated, with RAPPORT_* overrides.

Relative paths are resolved against the file's own folder, whatever directory the
daemon starts from. Secrets come from the environment, never required in the file.
"""

from __future__ import annotations

import os
from datetime import time
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from rapport.engine.core.configcheck import (
    SMS_LEGAL_WINDOW,
    adapter_problems,
    check_keys,
    env_urls,
    misspelt_variables,
    no_adapter,
)
from rapport.engine.core.configtexts import (
    DatabaseURL,
    FromAddress,
    LinkBase,
    ListenHost,
    LocalPath,
    MailtoAddress,
    MessageIdDomain,
    Secret,
    SenderText,
)
from rapport.engine.core.errors import ConfigError, Problem
from rapport.engine.core.i18n import known_locale, known_locales
from rapport.engine.core.keywords import SMSKeywords
from rapport.engine.core.localtime import LocalTime
from rapport.engine.core.sender import SenderTexts, SMSSignatures
from rapport.engine.core.tierconfig import TierConfig as TierConfig
from rapport.engine.core.tierconfig import TierLevel as TierLevel
from rapport.engine.core.yamlsource import (
    Strict,
    YamlSyntaxError,
    caused_by_empty,
    load_yaml,
    validate_document,
)

STAGES = ("prospect", "first_time", "repeat", "loyal", "at_risk", "lapsed")


class DatabaseConfig(Strict):
    url: DatabaseURL = "sqlite:///var/rapport.db"


class LocaleConfig(Strict):
    default: str = "en"
    supported: list[str] = Field(default_factory=lambda: ["en", "fa", "zh"])
    #: What ``campaigns validate`` does when a campaign has no templates for a
    #: supported locale (its customers get the default's): warn, or fail.
    missing_templates: Literal["warn", "fail"] = "warn"

    @field_validator("default", "supported")
    @classmethod
    def _known(cls, value: Any) -> Any:
        return known_locales(value) if isinstance(value, list) else known_locale(value)


class LifecycleConfig(Strict):
    """Thresholds that turn order history into a stage (see engine/customers/lifecycle.py)."""

    #: Upper bounds here and below catch a typo of extra zeros (a century of days).
    loyal_min_orders: int = Field(5, ge=2, le=10_000)
    at_risk_days: int = Field(120, ge=1, le=36_500)
    lapsed_days: int = Field(365, ge=1, le=36_500)

    @field_validator("lapsed_days")
    @classmethod
    def _after_at_risk(cls, lapsed: int, info: ValidationInfo) -> int:
        if lapsed <= (at_risk := info.data.get("at_risk_days", 0)):  # said at its own line
            raise ValueError(f"lapsed_days must be greater than at_risk_days ({at_risk})")
        return lapsed


class ProviderConfig(BaseModel):
    """One provider of a channel: an adapter name and that adapter's own options."""

    model_config = ConfigDict(extra="allow", frozen=True)
    adapter: str

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ChannelConfig(Strict):
    """One configured channel: the adapter (or several, for failover) serving it.

    Either ``adapter`` with that adapter's options beside it, or ``providers``: a list
    of them, tried in order; after ``failover_after`` transient failures in a row a
    provider is skipped for ``failover_cooldown_seconds``. ``rate_per_second`` and
    ``concurrency`` are the dispatcher's limits for the whole channel.
    """

    model_config = ConfigDict(extra="allow", frozen=True)
    adapter: str | None = None
    kind: Literal["email", "sms"] | None = None
    providers: list[ProviderConfig] = Field(default=[])
    rate_per_second: float | None = Field(None, gt=0, le=100_000)
    concurrency: int | None = Field(None, ge=1, le=64)
    failover_after: int = Field(3, ge=1, le=1_000)
    failover_cooldown_seconds: float = Field(60, ge=0, le=86_400)

    @model_validator(mode="after")
    def _one_way(self) -> ChannelConfig:
        if self.adapter is None and not self.providers:
            raise ValueError(no_adapter(self.model_extra or {}))
        if self.adapter is not None and self.providers:
            raise ValueError("give either adapter (with its options) or providers, not both")
        if self.providers and self.model_extra:
            extra = ", ".join(sorted(self.model_extra))
            raise ValueError(f"with providers, adapter options belong to each provider: {extra}")
        return self

    def provider_list(self) -> list[ProviderConfig]:
        if self.providers:
            return list(self.providers)
        assert self.adapter is not None
        return [ProviderConfig(adapter=self.adapter, **(self.model_extra or {}))]


class SenderConfig(Strict):
    from_address: FromAddress = "Rapport <hello@example.com>"
    postal_address: SenderText = "Rapport, 1 Example Street, Example City"
    message_id_domain: MessageIdDomain = "rapport.example"
    #: The brand and contact named in SMS HELP replies and e-mail footers.
    brand: SenderText = "Rapport"
    contact: SenderText = "hello@example.com"
    #: Mailbox for the ``mailto:`` form of List-Unsubscribe (RFC 2369).
    unsubscribe_mailto: MailtoAddress = "unsubscribe@example.com"
    #: Per locale (fa, zh_Hant ...): the From display name, and how SMS name the brand
    #: ("{brand}" is ``brand``; zh defaults to 【{brand}】). See engine/core/sender.py.
    from_name: SenderTexts = Field(default={})
    sms_signature: SMSSignatures = Field(default={})


class WebConfig(Strict):
    """The customer-facing web app: preference centre, unsubscribe, webhooks."""

    base_url: LinkBase = "http://127.0.0.1:8000"
    #: Serve the web app inside ``rapport run`` as well (``rapport serve`` always does).
    enabled: bool = False
    host: ListenHost = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    preference_link_days: int = Field(90, ge=1, le=3650)
    #: RFC 8058 senders should keep one-click links working for a long time.
    unsubscribe_link_days: int = Field(180, ge=60, le=3650)
    confirm_link_days: int = Field(7, ge=1, le=3650)
    #: "Send me my link" requests allowed per client address and per e-mail, per hour.
    link_requests_per_hour: int = Field(5, ge=1, le=1000)
    #: Client addresses and e-mails the link limiter remembers at most (hashed, about
    #: 500 bytes each); past it the least recently seen are forgotten.
    link_limiter_max_keys: int = Field(10_000, ge=100, le=100_000)
    #: Shared secret providers send in the ``X-Rapport-Webhook-Token`` header; from
    #: RAPPORT_WEBHOOK_TOKEN. Webhooks are refused while it is unset.
    webhook_token: Secret | None = Field(default=None, exclude=True)
    #: Bearer token for the operators' report at /admin/report; from
    #: RAPPORT_REPORT_TOKEN. The route answers 503 while it is unset.
    report_token: Secret | None = Field(default=None, exclude=True)
    #: Largest request body in bytes outside /webhooks/ (413 beyond it, unread).
    max_body_bytes: int = Field(64 * 1024, ge=1024, le=16 * 1024 * 1024)
    #: Largest body a provider may post to /webhooks/ (event batches are larger). Each
    #: webhook also keeps its own cap (e-mail events 1 MiB, inbound SMS 16 KiB): this
    #: can lower those, not raise them.
    max_webhook_body_bytes: int = Field(1024 * 1024, ge=64 * 1024, le=16 * 1024 * 1024)
    #: Largest request line plus headers, in bytes (431 beyond it, 400 while arriving).
    max_header_bytes: int = Field(16 * 1024, ge=4 * 1024, le=64 * 1024)
    #: Seconds a client has to send a whole request head, from connecting or from the
    #: end of the previous response on a kept-alive connection; then it is closed.
    header_timeout_seconds: float = Field(10, ge=1, le=120)
    #: Seconds a client has to send a whole request body once its head has arrived.
    body_timeout_seconds: float = Field(30, ge=1, le=600)
    #: Seconds an idle kept-alive connection stays open.
    keep_alive_seconds: int = Field(5, ge=1, le=120)
    #: Open connections (and requests in progress) at most; past it a request is
    #: answered 503 at once, so slow clients cannot hold every file descriptor.
    max_connections: int = Field(500, ge=10, le=10_000)
    #: One JSON log line per request (method, route with tokens masked, status, time);
    #: never a query string or a client address.
    access_log: bool = False
    #: Serve /metrics on its own address instead of the web app's (which then answers
    #: 404 there): set metrics_port, and metrics_host if not loopback.
    metrics_host: ListenHost = "127.0.0.1"
    metrics_port: int | None = Field(None, ge=1, le=65535)
    #: Bearer token /metrics requires wherever it is served; from RAPPORT_METRICS_TOKEN.
    metrics_token: Secret | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _separate_metrics_port(self) -> WebConfig:
        if self.metrics_port is not None and self.metrics_port == self.port:
            raise ValueError(
                f"metrics_port {self.metrics_port} is web.port: give /metrics a port of its own"
            )
        return self


class TemplateLimitsConfig(Strict):
    """What one message's templates may spend (engine/rendering/budget.py); bounded so
    that no template can ever have minutes or gigabytes."""

    #: Wall-clock time for all of a message's parts.
    max_seconds: float = Field(1.0, gt=0, le=10)
    #: Memory a message's templates may ask for, added up over the render; no single
    #: value may hold more than 4096 characters or items per MB (262,144 at 64).
    max_memory_mb: int = Field(64, ge=4, le=512)
    #: Characters one part (subject, text, HTML, SMS) may print.
    max_output_chars: int = Field(100_000, ge=1_000, le=2_000_000)


class DispatchConfig(Strict):
    batch_size: int = Field(100, ge=1, le=10_000)
    #: Of ``dispatch --once``; 0: one per core (engine/runtime/dispatchers.py).
    processes: int = Field(0, ge=0, le=16)
    lease_seconds: int = Field(300, ge=5, le=86_400)
    max_attempts: int = Field(5, ge=1, le=100)
    #: At most a day, as a provider's Retry-After: a longer wait overflowed the date.
    backoff_base_seconds: float = Field(30, gt=0, le=86_400)
    backoff_max_seconds: float = Field(3600, gt=0, le=86_400)

    @field_validator("backoff_max_seconds")
    @classmethod
    def _at_least_the_base(cls, maximum: float, info: ValidationInfo) -> float:
        if maximum < (base := info.data.get("backoff_base_seconds", 0)):  # all waits the max
            raise ValueError(f"{maximum:g} is less than backoff_base_seconds ({base:g})")
        return maximum


class DaemonConfig(Strict):
    """How often ``rapport run`` does what, and how long it may take to stop."""

    #: At least a second: 1e-9 loaded and planning ran back to back, a run every 0.3 s.
    plan_seconds: float = Field(900, ge=1, le=86_400)
    dispatch_seconds: float = Field(5, gt=0, le=3_600)
    grace_seconds: float = Field(30, ge=0, le=3_600)
    misfire_grace_seconds: int = Field(60, ge=1, le=86_400)


class RetentionConfig(Strict):
    """Days messages keep their bodies (delivery/retention.py), plan decisions
    (planning/decisions.py) and posted events (customers/events.py); pruned nightly."""

    outbox_days: int = Field(90, ge=1, le=3650)
    decision_days: int = Field(30, ge=0, le=3650)
    event_days: int = Field(400, ge=1, le=3650)


class Caps(Strict):
    """Most marketing messages one customer gets, over a local day and a rolling week."""

    per_day: int | None = Field(None, ge=1, le=1_000)
    per_week: int | None = Field(None, ge=1, le=10_000)


class CapsConfig(Caps):
    """Global caps, plus tighter ones per channel (e.g. SMS at most once a week)."""

    per_day: int | None = Field(1, ge=1, le=1_000)
    per_week: int | None = Field(3, ge=1, le=10_000)
    channels: dict[str, Caps] = Field(default={})
    #: Days that must pass between two holiday offers to one customer, whatever the
    #: campaigns (0: no gap); see engine/planning/caps.py.
    holiday_offer_gap_days: int = Field(7, ge=0, le=90)


class AllowedHours(Strict):
    """Local hours a channel may be used in; nothing is sent outside them.

    An SMS window is kept within 08:00-21:00 (engine/core/configcheck.py): reaching
    outside it takes ``widen_legal_window: true`` on that very window.
    """

    not_before: LocalTime
    not_after: LocalTime
    widen_legal_window: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> AllowedHours:
        if self.not_before >= self.not_after:
            raise ValueError("not_before must be earlier than not_after")
        return self


class QuietHours(AllowedHours):
    countries: dict[str, AllowedHours] = Field(default={})

    def for_country(self, country: str | None) -> AllowedHours:
        return self.countries.get(country or "", self)


class PlanningConfig(Strict):
    default_window_start: LocalTime = time(9, 0)
    default_window_end: LocalTime = time(20, 0)
    #: Customers read, planned and written (one transaction) at a time; None: the
    #: database's default (engine/customers/profiles.py DEFAULT_BATCH_SIZE).
    batch_size: int | None = Field(None, ge=1, le=100_000)
    #: Processes a planning run may use (0: one per core), each taking an id range.
    workers: int = Field(0, ge=0, le=64)
    #: Below this many customers per process a run stays in one (a worker costs ~1 s).
    min_customers_per_worker: int = Field(25_000, ge=1, le=10_000_000)
    shard_size: int = Field(50_000, ge=100, le=10_000_000)
    shard_lease_seconds: float = Field(120, ge=1, le=3600)


class Settings(Strict):
    database: DatabaseConfig = DatabaseConfig()
    locales: LocaleConfig = LocaleConfig()
    campaigns_dir: LocalPath = Path("campaigns")
    templates_dir: LocalPath = Path("templates")
    lifecycle: LifecycleConfig = LifecycleConfig()
    tiers: TierConfig = TierConfig()
    topics: list[str] = Field(
        default_factory=lambda: [
            "birthday",
            "offers",
            "reorder",
            "winback",
            "feedback",
            "newsletter",
        ]
    )
    #: Sent by POST /api/v1/messages without consent (docs/api.md; never in ``topics``).
    transactional_topics: list[str] = Field(default_factory=lambda: ["receipts", "shipping"])
    channels: dict[str, ChannelConfig] = Field(
        default_factory=lambda: {
            "email": ChannelConfig(adapter="file", kind="email", path="var/outbox"),
            "sms": ChannelConfig(adapter="file", kind="sms", path="var/outbox"),
        }
    )
    sender: SenderConfig = SenderConfig()
    web: WebConfig = WebConfig()
    dispatch: DispatchConfig = DispatchConfig()
    planning: PlanningConfig = PlanningConfig()
    caps: CapsConfig = CapsConfig()
    template_limits: TemplateLimitsConfig = TemplateLimitsConfig()
    daemon: DaemonConfig = DaemonConfig()
    retention: RetentionConfig = RetentionConfig()
    #: Per channel kind; SMS is never sent before 08:00 or after 21:00 local unless
    #: written otherwise, and an SMS window never reaches outside those hours without
    #: ``widen_legal_window: true`` (see engine/core/configcheck.py).
    quiet_hours: dict[str, QuietHours] = Field(default_factory=lambda: _default_hours({}))
    #: Local STOP/START/HELP words for inbound SMS, on top of the English ones.
    sms_keywords: SMSKeywords = SMSKeywords()
    secret_key: Secret | None = Field(default=None, exclude=True)
    #: Without RAPPORT_SECRET_KEY the signing key is kept in the database, shared by
    #: every daemon on it (rapport.engine.core.keys). This file is only read: a key an
    #: earlier version generated here becomes the database's first key, so links
    #: already sent keep opening; with an in-memory SQLite database it keeps the key.
    secret_key_file: LocalPath = Path("var/secret.key")
    #: A deployment customers receive messages from: what is a warning on a trial set-up
    #: is refused (a ``web.base_url`` that is not HTTPS; see engine/core/baseurl.py).
    production: bool = False
    base_dir: Path = Field(default=Path("."), exclude=True)

    @field_validator("quiet_hours")
    @classmethod
    def _keep_the_sms_default(cls, hours: dict[str, QuietHours]) -> dict[str, QuietHours]:
        return _default_hours(hours)

    @model_validator(mode="after")
    def _closed(self) -> Settings:
        """Keys naming kinds, channels and countries, and the SMS floor: see configcheck."""
        check_keys(self)
        return self

    def resolve(self, path: Path | str) -> Path:
        """A path from config, relative to the config file's folder."""
        path = Path(path)
        return path if path.is_absolute() else self.base_dir / path

    @property
    def campaigns_path(self) -> Path:
        return self.resolve(self.campaigns_dir)

    @property
    def templates_path(self) -> Path:
        return self.resolve(self.templates_dir)

    @property
    def database_url(self) -> str:
        """SQLite URLs with relative paths are taken relative to the config's folder."""
        url = self.database.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(self.resolve(url[len(prefix) :]))
        return url


def _default_hours(hours: dict[str, QuietHours]) -> dict[str, QuietHours]:
    """``hours`` with the legal SMS window added when it names no SMS hours: writing
    quiet hours for e-mail must not lift the SMS limit."""
    if "sms" in hours:
        return hours
    return {
        "sms": QuietHours(not_before=SMS_LEGAL_WINDOW[0], not_after=SMS_LEGAL_WINDOW[1])
    } | hours


def _channels(parsed: Settings | None, data: object) -> dict[str, ChannelConfig]:
    """The channels of a file, also when another section of it is wrong (so that every
    adapter option problem is reported in the same run)."""
    if parsed is not None:
        return parsed.channels
    raw = data.get("channels") if isinstance(data, dict) else None
    try:
        return TypeAdapter(dict[str, ChannelConfig]).validate_python(raw or {})
    except ValidationError:  # reported by the Settings model already
        return {}


#: The variables holding a secret, compared byte for byte wherever they are used.
SECRET_VARIABLES = (
    "RAPPORT_SECRET_KEY",
    "RAPPORT_WEBHOOK_TOKEN",
    "RAPPORT_REPORT_TOKEN",
    "RAPPORT_METRICS_TOKEN",
)


def _padded_secrets(environ: dict[str, str]) -> None:
    """Refuse a secret with spaces or a line break around it: taken as given, a key
    read from a file with its newline on one machine and typed without it on another
    signs links the other refuses (and a token so padded matches no client's header)."""
    padded = [
        name for name in SECRET_VARIABLES if (value := environ.get(name)) and value != value.strip()
    ]
    if padded:
        raise ConfigError(
            f"{', '.join(padded)}: starts or ends with a space or a line break; set it "
            "without them (a secret is compared byte for byte)"
        )


def _apply_environment(settings: Settings, environ: dict[str, str]) -> Settings:
    misspelt_variables(environ, settings.channels)
    _padded_secrets(environ)
    updates: dict[str, Any] = {}
    if url := environ.get("RAPPORT_DATABASE_URL"):
        # Not checked here: make_engine refuses it naming RAPPORT_DATABASE_URL.
        updates["database"] = DatabaseConfig.model_construct(url=url)
    found = env_urls(environ)  # RAPPORT_SMTP_URL and RAPPORT_SMS_URL, checked
    updates["channels"] = settings.channels | {n: ChannelConfig(**o) for n, o in found.items()}
    if key := environ.get("RAPPORT_SECRET_KEY"):
        updates["secret_key"] = key
    if token := environ.get("RAPPORT_WEBHOOK_TOKEN"):
        updates["web"] = settings.web.model_copy(update={"webhook_token": token})
    if token := environ.get("RAPPORT_REPORT_TOKEN"):
        web = updates.get("web", settings.web)
        updates["web"] = web.model_copy(update={"report_token": token})
    if token := environ.get("RAPPORT_METRICS_TOKEN"):
        web = updates.get("web", settings.web)
        updates["web"] = web.model_copy(update={"metrics_token": token})
    return settings.model_copy(update=updates)


def load_settings(
    path: Path | str | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Load config.yaml (or defaults when the default file is absent) plus overrides.

    An explicitly named file that does not exist is an error; the implicit
    ``./config.yaml`` may be missing, because defaults work out of the box."""
    environ = dict(os.environ if environ is None else environ)
    explicit = path is not None
    config_path = Path(path) if path is not None else Path("config.yaml")
    if not config_path.exists():
        if explicit:
            raise ConfigError([Problem(str(config_path), None, "config file not found")])
        settings = Settings(base_dir=Path.cwd())
    else:
        try:
            doc = load_yaml(config_path)
        except YamlSyntaxError as exc:
            raise ConfigError([exc.problem]) from None
        doc.data = {} if doc.data is None else doc.data
        parsed, problems = validate_document(doc, Settings)
        found = adapter_problems(_channels(parsed, doc.data), doc)
        problems += [problem for problem in found if not caused_by_empty(doc, problem)]
        if problems or parsed is None:
            raise ConfigError(problems)
        settings = parsed.model_copy(update={"base_dir": config_path.resolve().parent})
    return _apply_environment(settings, environ)
