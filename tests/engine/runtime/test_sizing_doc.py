"""docs/operations.md, "Sizing", says what the committed measurements say.

Each figure the section quotes is computed here again from the result file it names
(``bench/results/*.json`` of ``python -m bench``, ``bench/results/sizing/*.json`` of
``python -m bench.sizing``), formatted as the section writes it, and must appear in
the section word for word. The figures "on paper" for 100 million customers are
computed from those with the section's own assumptions (a day like the benchmark's
broadcast, a 9-hour window, ``daemon.plan_seconds`` 900 or 3,600, the larger of the
two PostgreSQL runs). Changing a figure or a result file without the other fails
here. Nothing is run or timed.
"""

from __future__ import annotations

import json
import math
import re
from functools import cache
from typing import Any

import pytest
from factories import REPO

from rapport.channels.twilio import TwilioSMSChannel

OPERATIONS = REPO / "docs" / "operations.md"
RESULTS = REPO / "bench" / "results"
PG_1M = "20261206T174416Z-postgresql-1000000.json"
SQLITE_1M = "20261206T173103Z-sqlite-1000000.json"
SQLITE_100K = "20261206T165606Z-sqlite-100000.json"
SIZING_PG = (
    "sizing/20261206T190419Z-postgresql-100000.json",
    "sizing/20261206T191248Z-postgresql-100000.json",
)
SIZING_SQLITE = "sizing/20261206T191109Z-sqlite-100000.json"
CITED = re.compile(r"(?:sizing/)?\d{8}T\d{6}Z-(?:sqlite|postgresql)-\d+\.json")
#: The sizing runs' phases: the broadcast planned for the first time, in one process
#: and with every process, and planned again (a later tick) in one process.
FIRST, FIRST_ALL, AGAIN = "broadcast_one_process", "broadcast_all_processes", "repeat_one_process"
SIZING = (*SIZING_PG, SIZING_SQLITE)
#: The assumptions on paper: the measurements are per 100,000 customers.
TO_100M = 1000
WINDOW = 9 * 3600
DAY = 86400
LATER_RUNS = {900: 287, 3600: 71}  # a day is planned for 72 hours, the first run aside


def section() -> str:
    """The "Sizing" section up to the next second-level heading, one space between
    words (a figure may be wrapped over two lines)."""
    text = OPERATIONS.read_text(encoding="utf-8")
    start = text.index("\n## Sizing\n")
    end = text.index("\n## ", start + 1)
    return " ".join(text[start:end].split())


@cache
def result(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((RESULTS / name).read_text(encoding="utf-8"))
    return loaded


def span(values: list[float], form: str, unit: str = "") -> str:
    """A range as the section writes it (``low to high``), or one figure when both
    read the same once formatted."""
    low, high = (format(value, form) for value in (min(values), max(values)))
    return f"{low}{unit}" if low == high else f"{low} to {high}{unit}"


def runs(phase: str, key: str) -> list[Any]:
    """``key`` of ``phase`` in each PostgreSQL sizing run."""
    return [result(name)[phase][key] for name in SIZING_PG]


def core_seconds(phase: str) -> list[float]:
    """Daemon plus PostgreSQL CPU seconds of ``phase``, per run."""
    return [
        client + server
        for client, server in zip(
            runs(phase, "client_cpu_seconds"), runs(phase, "server_cpu_seconds"), strict=True
        )
    ]


def per_message(phase: str, values: list[float]) -> list[float]:
    return [value / sent for value, sent in zip(values, runs(phase, "messages"), strict=True)]


def transactions(phase: str) -> list[float]:
    return [counts["xact_commit"] for counts in runs(phase, "database")]


def wal(phase: str, *, full_pages: bool) -> list[float]:
    """Bytes of WAL of ``phase`` per run: the full-page images, or the rest."""
    return [
        w["fpi_bytes"] if full_pages else w["bytes"] - w["fpi_bytes"] for w in runs(phase, "wal")
    ]


def size(name: str, table: str, after: str, key: str = "total") -> int:
    value: int = result(name)[f"sizes_after_{after}"]["tables"][table][key]
    return value


def rate(run: dict[str, Any], channel: str) -> float:
    delivered = run["delivery"][channel]
    return float(delivered["messages"] / delivered["seconds"])


def planning_figures() -> list[str]:
    customers = result(SIZING_PG[0])["customers"]
    sqlite = result(SIZING_SQLITE)
    quiet = result(PG_1M)
    broadcast = quiet["scenarios"]["broadcast"]

    def row(label: str, phase: str) -> str:
        client, server = runs(phase, "client_cpu_seconds"), runs(phase, "server_cpu_seconds")
        per_core = [customers / seconds for seconds in core_seconds(phase)]
        return (
            f"| {label} | {span(client, '.1f', ' s')} | {span(server, '.1f', ' s')} | "
            f"{span(per_core, ',.0f')} |"
        )

    first, again = core_seconds(FIRST), core_seconds(AGAIN)
    loads = [
        phase[moment][0]
        for name in SIZING
        for phase in result(name).values()
        if isinstance(phase, dict) and "load_before" in phase
        for moment in ("load_before", "load_after")
    ]
    return [
        f"load average {span(loads, '.1f')}:",
        f"{(LATER_RUNS[900] + 1) * 900 // 3600} hours: {LATER_RUNS[900] + 1} times at the "
        "default 900 s",
        f"the pre-filter reads {runs(FIRST, 'candidates')[0]:,} and planning queues "
        f"{runs(FIRST, 'planned')[0]:,} messages: "
        f"{runs(FIRST, 'planned')[0] - runs('dispatch_sms', 'messages')[0]:,} e-mails and "
        f"{runs('dispatch_sms', 'messages')[0]:,} SMS",
        f"({broadcast['candidates']:,} read, {broadcast['planned']:,} queued)",
        "the same one-process broadcast took "
        + span(runs(FIRST, "client_cpu_seconds"), ".1f").replace(" to ", " and ")
        + " s of CPU",
        row("first plan of the day, one process", FIRST),
        row("first plan, two processes (`planning.workers`: one per core)", FIRST_ALL),
        row("the same day planned again by a later tick, one process", AGAIN),
        f"first plan {sqlite[FIRST]['client_cpu_seconds']:.1f} s of CPU in one process "
        f"({customers / sqlite[FIRST]['client_cpu_seconds']:,.0f} customers per core-second), "
        f"{sqlite[FIRST_ALL]['client_cpu_seconds']:.1f} s in two; planned again, "
        f"{sqlite[AGAIN]['client_cpu_seconds']:.1f} s",
        f"`{PG_1M}` (load average {quiet['load_average'][0]:.1f} at its end)",
        f"with two processes in {broadcast['seconds']:.1f} s "
        f"({quiet['decision_runs']['with'][1]:.1f} s in its second run storing decisions), "
        "PostgreSQL on the same two cores: at least "
        f"{broadcast['customers'] / (2 * broadcast['seconds']):,.0f} customers per core-second",
        f"{span(again, '.1f')} core-seconds per 100,000 customers",
        "the 287 later runs cost "
        + span([287 * a / f for a, f in zip(again, first, strict=True)], ".0f")
        + " times the first plan",
        f"({quiet['scenarios']['trickle']['candidates']:,} of "
        f"{quiet['scenarios']['trickle']['customers']:,} on the benchmark's trickle day",
    ]


def dispatch_figures() -> list[str]:
    pg_1m, sqlite_1m, sqlite = result(PG_1M), result(SQLITE_1M), result(SIZING_SQLITE)
    source = pg_1m["ceilings"]["smtp_source"]["connect"]
    source_rate = source["messages"] / source["seconds"]

    def per_connection(channel: str) -> str:
        rates = [
            rate(run, channel) / run["delivery"][channel]["connections"]
            for run in (pg_1m, sqlite_1m)
        ]
        return span(rates, ".1f")

    def cpu(phase: str, key: str) -> str:
        return span([1000 * v for v in per_message(phase, runs(phase, key))], ".2f", " ms")

    def sqlite_cpu(phase: str) -> str:
        return f"{1000 * sqlite[phase]['client_cpu_seconds'] / sqlite[phase]['messages']:.2f} ms"

    set_up = [
        f"{pg_1m['delivery'][c]['messages'] / pg_1m['delivery'][c]['connections']:.0f}"
        for c in ("email", "sms")
    ]
    connections = {run["concurrency"][c] for run in (pg_1m, sqlite_1m) for c in ("email", "sms")}
    assert len(connections) == 1, connections
    return [
        f"| one dispatcher, the default {connections.pop()} connections a channel | e-mail | SMS |",
        f"| messages a second, PostgreSQL, `{PG_1M}` | {rate(pg_1m, 'email'):,.0f} | "
        f"{rate(pg_1m, 'sms'):,.0f} |",
        f"| messages a second, SQLite, `{SQLITE_1M}` | {rate(sqlite_1m, 'email'):,.0f} | "
        f"{rate(sqlite_1m, 'sms'):,.0f} |",
        f"| the same per connection | {per_connection('email')} | {per_connection('sms')} |",
        "| messages per connection set up (10,000 over 16 connections) | "
        f"{set_up[0]} | {set_up[1]} |",
        "| dispatcher CPU per message, PostgreSQL (`bench.sizing`) | "
        f"{cpu('dispatch_email', 'client_cpu_seconds')} | "
        f"{cpu('dispatch_sms', 'client_cpu_seconds')} |",
        f"| PostgreSQL CPU per message | {cpu('dispatch_email', 'server_cpu_seconds')} | "
        f"{cpu('dispatch_sms', 'server_cpu_seconds')} |",
        "| dispatcher CPU per message, SQLite (`bench.sizing`) | "
        f"{sqlite_cpu('dispatch_email')} | {sqlite_cpu('dispatch_sms')} |",
        f"(p50 {pg_1m['delivery']['sms']['p50_ms']:.2f} ms and p99 "
        f"{pg_1m['delivery']['sms']['p99_ms']:.2f} ms a request in the PostgreSQL run)",
        f"({span(per_message('dispatch_email', transactions('dispatch_email')), '.2f')} "
        "transactions per e-mail)",
        f"(and {rate(result(SQLITE_100K), 'email'):,.0f} e-mails and "
        f"{rate(result(SQLITE_100K), 'sms'):,.0f} SMS a second in `{SQLITE_100K}`",
        f"it sent {source_rate:,.0f} a second with a new connection per message in `{PG_1M}`, "
        f"where the command sent {rate(pg_1m, 'email'):,.0f} "
        f"({rate(pg_1m, 'email') / source_rate:.2f})",
        f"Load average at the end of those runs: {pg_1m['load_average'][0]:.1f} (PostgreSQL) "
        f"and {sqlite_1m['load_average'][0]:.1f} (SQLite)",
        f"`{SQLITE_100K}`, load average {result(SQLITE_100K)['load_average'][0]:.1f} at its end",
        "The PostgreSQL 1M broadcast takes "
        f"{pg_1m['scenarios']['broadcast']['seconds']:.1f} s in that run",
    ]


def postgresql_figures() -> list[str]:
    """Per million customers: the first PostgreSQL run's sizes (both runs' are the
    same) and both runs' writes, times ten."""
    base = SIZING_PG[0]
    planned, decided = runs(FIRST, "planned")[0], runs(FIRST, "candidates")[0]
    outbox = size(base, "outbox_message", "broadcast") - size(base, "outbox_message", "load")
    outbox_indexes = size(base, "outbox_message", "broadcast", "indexes") - size(
        base, "outbox_message", "load", "indexes"
    )
    decisions = size(base, "plan_decision", "broadcast") - size(base, "plan_decision", "load")
    sizes = result(base)
    grown = (
        sizes["sizes_after_broadcast"]["database_bytes"]
        - sizes["sizes_after_load"]["database_bytes"]
    )
    inserted = runs(FIRST, "database")[0]["tup_inserted"]
    # One row per message, per decision, the plan run, and the rest TOAST rows.
    toast = inserted - planned - decided - 1
    sent = [
        result(name)["dispatch_email"]["messages"] + result(name)["dispatch_sms"]["messages"]
        for name in SIZING_PG
    ]
    dead = [
        (size(name, "outbox_message", "dispatch") - size(name, "outbox_message", "planning")) / n
        for name, n in zip(SIZING_PG, sent, strict=True)
    ]

    def store(table: str) -> str:
        return f"`{table}` {10 * size(base, table, 'load') / 1e6:.0f} MB"

    def row_bytes(table: str) -> str:
        return f"{size(base, table, 'load') / size(base, table, 'load', 'rows'):.0f}"

    def times_ten(values: list[float], form: str, unit: str = "", scale: float = 1) -> str:
        return span([10 * value / scale for value in values], form, unit)

    def kilobytes(phase: str) -> str:
        return span(
            [v / 1000 for v in per_message(phase, wal(phase, full_pages=False))], ".1f", " KB"
        )

    updates = per_message(
        "dispatch_email",
        [rows["outbox_message"]["updated"] for rows in runs("dispatch_email", "rows")],
    )
    return [
        f"| {10 * sizes['sizes_after_load']['database_bytes'] / 1e9:.2f} GB, indexes included: "
        f"{store('consent_event')}, {store('consent_state')}, {store('customer')}, "
        f"{store('orders')} ({row_bytes('consent_event')}, {row_bytes('consent_state')}, "
        f"{row_bytes('customer')} and {row_bytes('orders')} bytes a row) |",
        f"| +{10 * grown / 1e9:.2f} GB: `outbox_message` {10 * outbox / 1e9:.2f} GB "
        f"({outbox / planned:,.0f} bytes a queued message, {outbox_indexes / planned:.0f} of "
        f"them indexes), `plan_decision` {10 * decisions / 1e6:.0f} MB "
        f"({decisions / decided:.0f} bytes a decision) |",
        f"| {10 * inserted / 1e6:.2f} million rows inserted ({10 * planned:,} messages, "
        f"{10 * decided:,} decisions and {10 * toast:,} TOAST rows, one per e-mail), "
        f"{times_ten(transactions(FIRST), ',.0f')} transactions, "
        f"{times_ten([w['bytes'] for w in runs(FIRST, 'wal')], '.2f', ' GB', 1e9)} of WAL "
        f"({times_ten(wal(FIRST, full_pages=True), '.0f', ' MB', 1e6)} of it full-page images) |",
        f"| {times_ten(transactions(AGAIN), ',.0f')} transactions, "
        f"{times_ten([r['plan_decision']['inserted'] for r in runs(AGAIN, 'rows')], ',.0f')} "
        f"decisions inserted, {times_ten(wal(AGAIN, full_pages=False), '.1f', ' MB', 1e6)} of WAL "
        f"plus up to {10 * max(wal(AGAIN, full_pages=True)) / 1e6:.0f} MB of full-page images |",
        f"| {span(updates, '.0f')} row updates (the claim, the check before sending, the outcome); "
        f"{span(per_message('dispatch_email', transactions('dispatch_email')), '.2f')} "
        "transactions per e-mail, "
        f"{span(per_message('dispatch_sms', transactions('dispatch_sms')), '.2f')} per SMS; WAL "
        f"{kilobytes('dispatch_email')} per e-mail and {kilobytes('dispatch_sms')} per SMS, "
        f"plus full-page images; {span([d / 1000 for d in dead], '.1f', ' KB')} of dead row "
        "versions in `outbox_message`",
        f"with {result(base)['load']['rows']['orders']['inserted'] / 100_000:.2f} orders and "
        f"{result(base)['load']['rows']['consent_state']['inserted'] / 100_000:.2f} consent "
        "rows each",
    ]


def paper_figures() -> list[str]:
    """100 million customers a day: the measurements per 100,000 times 1,000, the
    larger of the two runs wherever they differ."""
    base = SIZING_PG[0]
    planned, read = runs(FIRST, "planned")[0], runs(FIRST, "candidates")[0]
    sms = runs("dispatch_sms", "messages")[0] * TO_100M
    emails = planned * TO_100M - sms
    email_rate, sms_rate = emails / WINDOW, sms / WINDOW
    twilio = TwilioSMSChannel.rate_per_second

    def worst_per_message(phase: str, key: str) -> float:
        return max(per_message(phase, runs(phase, key)))

    client = {
        p: worst_per_message(p, "client_cpu_seconds") for p in ("dispatch_email", "dispatch_sms")
    }
    server = {
        p: worst_per_message(p, "server_cpu_seconds") for p in ("dispatch_email", "dispatch_sms")
    }

    def worst_total(phase: str) -> float:
        """The larger run's daemon plus PostgreSQL CPU seconds per message."""
        return max(per_message(phase, core_seconds(phase)))

    per_email, per_sms = worst_total("dispatch_email"), worst_total("dispatch_sms")
    first = max(core_seconds(FIRST)) * TO_100M
    again = max(core_seconds(AGAIN)) * TO_100M
    again_daemon = max(runs(AGAIN, "client_cpu_seconds")) * TO_100M
    again_server = max(runs(AGAIN, "server_cpu_seconds")) * TO_100M
    dispatch_daemon = email_rate * client["dispatch_email"] + sms_rate * client["dispatch_sms"]
    dispatch_server = email_rate * server["dispatch_email"] + sms_rate * server["dispatch_sms"]
    daemon_cores = {s: n * again_daemon / DAY + dispatch_daemon for s, n in LATER_RUNS.items()}
    server_cores = {s: n * again_server / DAY + dispatch_server for s, n in LATER_RUNS.items()}
    outbox = (
        size(base, "outbox_message", "broadcast") - size(base, "outbox_message", "load")
    ) * TO_100M
    decisions = (
        size(base, "plan_decision", "broadcast") - size(base, "plan_decision", "load")
    ) * TO_100M

    def window_wal(full_pages: bool) -> float:
        def worst(phase: str) -> float:
            totals = [
                w["bytes"] if full_pages else w["bytes"] - w["fpi_bytes"]
                for w in runs(phase, "wal")
            ]
            return max(per_message(phase, totals))

        return email_rate * worst("dispatch_email") + sms_rate * worst("dispatch_sms")

    commits = email_rate * max(per_message("dispatch_email", transactions("dispatch_email"))) + (
        sms_rate * max(per_message("dispatch_sms", transactions("dispatch_sms")))
    )
    per_connection = [
        rate(result(name), "email") / result(name)["delivery"]["email"]["connections"]
        for name in (PG_1M, SQLITE_1M)
    ]
    return [
        f"{read * TO_100M / 1e6:.1f} million read, {emails / 1e6:.1f} million e-mails and "
        f"{sms / 1e6:.2f} million SMS queued",
        f"| the day's first plan | {round(first, -2):,.0f} core-seconds ({first / 3600:.1f} "
        "core-hours), PostgreSQL's included;",
        f"| {LATER_RUNS[900]} runs of {round(again, -1):,.0f} core-seconds: "
        f"{LATER_RUNS[900] * again / DAY:.1f} cores around the clock, "
        f"{LATER_RUNS[900] * again_server / DAY:.1f} of them PostgreSQL's |",
        f"| {LATER_RUNS[3600]} runs: {LATER_RUNS[3600] * again / DAY:.1f} cores",
        f"| {email_rate:,.0f} e-mails and {sms_rate:,.0f} SMS a second: "
        f"{email_rate * per_email + sms_rate * per_sms:.1f} cores ({1000 * per_email:.2f} ms per "
        f"e-mail and {1000 * per_sms:.2f} ms per SMS, dispatcher and PostgreSQL) |",
        f"daemon processes use {daemon_cores[900]:.1f} cores at the default `plan_seconds`, "
        f"{math.ceil(daemon_cores[900] / 2)} daemons of 2 cores; {daemon_cores[3600]:.1f} cores "
        f"at 3,600 s, {math.ceil(daemon_cores[3600] / 2)} daemons",
        f"PostgreSQL: {server_cores[900]:.1f} and {server_cores[3600]:.1f} cores",
        f"the store {result(base)['sizes_after_load']['database_bytes'] * TO_100M / 1e9:.0f} GB "
        f"(the benchmark's shape); each such day adds {outbox / 1e9:.0f} GB of outbox and "
        f"{decisions / 1e9:.1f} GB of decisions",
        f"up to {90 * outbox / 1e12:.1f} TB (the size of a pruned row was not measured), and "
        f"{30 * decisions / 1e9:.0f} GB of decisions",
        f"the first plan {max(w['bytes'] for w in runs(FIRST, 'wal')) * TO_100M / 1e9:.0f} GB of "
        f"WAL; in the window {window_wal(False) / 1e6:.1f} MB/s of WAL "
        f"({window_wal(True) / 1e6:.0f} MB/s with full-page images as measured), "
        f"{commits:,.0f} commits and {3 * (email_rate + sms_rate):,.0f} row updates a second; "
        f"each later planning run {max(wal(AGAIN, full_pages=False)) * TO_100M / 1e9:.2f} GB of "
        f"WAL, plus up to {max(wal(AGAIN, full_pages=True)) * TO_100M / 1e9:.1f} GB of "
        "full-page images",
        f"{emails / 1e6:.1f} million e-mails in {WINDOW // 3600} hours are "
        f"{email_rate:,.0f} a second, and "
        f"{sms / 1e6:.2f} million SMS {sms_rate:,.0f} requests a second",
        f"6 hours left, and need {sms / (6 * 3600):,.0f} requests a second",
        f"At the {span(per_connection, '.1f')} messages a second a "
        f"connection carries here, {email_rate:,.0f} e-mails a second take "
        f"{math.ceil(email_rate / max(per_connection))} to "
        f"{math.ceil(email_rate / min(per_connection))} connections",
        f"one message per connection every 0.1 s, for example, they take "
        f"{math.ceil(email_rate * 0.1)}, {math.ceil(math.ceil(email_rate * 0.1) / 16)} daemons "
        "at the default 16",
        f"a send window of 10:00 to 19:00 local time ({WINDOW // 3600} hours)",
        f"At the Twilio adapter's default of {twilio:.0f} a second, {sms / 1e6:.2f} million SMS "
        f"would take {sms / twilio / DAY:.0f} days: the account must allow {sms_rate:,.0f} a "
        "second or more",
    ]


def test_the_operations_guide_has_a_sizing_section_with_its_parts() -> None:
    text = section()

    for part in (
        "### Planning: customers per core-second",
        "### Dispatch: messages per connection",
        "### PostgreSQL per million customers",
        "### 100 million customers a day, on paper",
        "**Not met yet (issue 20).**",
    ):
        assert part in text, part


def test_every_result_file_the_section_cites_is_committed() -> None:
    cited = set(CITED.findall(section()))

    assert cited >= {PG_1M, SQLITE_1M, SQLITE_100K, SIZING_SQLITE, *SIZING_PG}
    missing = [name for name in sorted(cited) if not (RESULTS / name).is_file()]
    assert not missing, f"docs/operations.md cites results not in bench/results: {missing}"


@pytest.mark.parametrize(
    "figures", [planning_figures, dispatch_figures, postgresql_figures], ids=lambda f: f.__name__
)
def test_each_measured_figure_is_the_one_in_its_result_file(figures: Any) -> None:
    text = section()

    wrong = [phrase for phrase in figures() if phrase not in text]

    assert not wrong, "not in docs/operations.md, Sizing, as the results give it:\n" + "\n".join(
        wrong
    )


def test_the_figures_on_paper_follow_from_the_measured_ones() -> None:
    text = section()

    wrong = [phrase for phrase in paper_figures() if phrase not in text]

    assert not wrong, "not in docs/operations.md, Sizing, as computed:\n" + "\n".join(wrong)
