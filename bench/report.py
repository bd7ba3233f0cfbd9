"""Figures, ratios against the ceilings, targets, and the JSON / markdown outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import startup


def rate(items: float, seconds: float) -> float:
    return items / seconds if seconds > 0 else 0.0


def figures(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(measure, value, ceiling, fraction) rows for one run."""
    rows: list[tuple[str, str, str, str]] = []
    b = result["scenarios"]["broadcast"]
    st = b["stages"]
    c = result["ceilings"]

    def add(
        name: str,
        value: float,
        ceiling: float | None,
        unit: str = "/s",
        fraction: float | None = None,
    ) -> None:
        if fraction is None and ceiling:
            fraction = value / ceiling
        frac = "" if fraction is None else f"{fraction:.2f}"
        rows.append((name, f"{value:,.0f}{unit}", f"{ceiling:,.0f}{unit}" if ceiling else "", frac))

    select_s = st.get("select", {}).get("seconds", 0) + st.get("audiences", {}).get("seconds", 0)
    add(
        "eligible (customers read + consent/history) ",
        rate(st.get("select", {}).get("items", 0), select_s),
        rate(c["fetch"]["customers"], c["fetch"]["seconds"]),
    )
    add("planned (pure planner)", rate(b["planned"], st.get("plan", {}).get("seconds", 0)), None)
    add(
        "contexts built",
        rate(st.get("context", {}).get("items", 0), st.get("context", {}).get("seconds", 0)),
        None,
    )
    if (pairs := st.get("render_pairs_engine")) and (summary := b.get("render_pairs")):
        # The fraction as the target reads it: the median pair, not the sums.
        add(
            "rendered, paired messages (ceiling: raw Jinja on them in the run), median pair",
            rate(pairs["items"], pairs["seconds"]),
            _paired_raw_rate(st),
            fraction=summary["median"],
        )
    add(
        "rendered (ceiling: raw Jinja, tight loop over the sample)",
        rate(st.get("render", {}).get("items", 0), st.get("render", {}).get("seconds", 0)),
        rate(c["render"]["messages"], c["render"]["seconds"]),
    )
    add(
        "outbox rows written",
        rate(st.get("write", {}).get("items", 0), st.get("write", {}).get("seconds", 0)),
        rate(c["insert"]["rows"], c["insert"]["seconds"]),
    )
    add("broadcast end to end (planned+queued)", rate(b["planned"], b["seconds"]), None)
    email = result["delivery"].get("email")
    sms = result["delivery"].get("sms")
    if email and email["mime_messages"]:
        add(
            "MIME built (build_email)",
            rate(email["mime_messages"], email["mime_seconds"]),
            rate(c["mime"]["messages"], c["mime"]["seconds"]),
        )
    if email:
        add(
            "e-mails into SMTP sink"
            + (" (rapport dispatch --once, start-up included)" if email.get("command") else ""),
            rate(email["sink_count"], email["seconds"]),
            rate(c["smtp"]["messages"], c["smtp"]["seconds"]),
        )
        for mode, source in (c.get("smtp_source") or {}).items():
            how = "-d, connections kept" if mode == "reuse" else "a connection a message"
            add(
                f"smtp-source ({how}, {source['sessions']} sessions, {source['size']:,} bytes)",
                rate(source["messages"], source["seconds"]),
                None,
            )
    if sms:
        add(
            "SMS into HTTP sink (ceiling: raw httpx loop)",
            rate(sms["sink_count"], sms["seconds"]),
            rate(c["http"]["messages"], c["http"]["seconds"]),
        )
        if wire := c.get("http_wire"):  # results written before the adapter's own wire
            add(
                "SMS into HTTP sink (ceiling: raw loop on the adapter's own wire)",
                rate(sms["sink_count"], sms["seconds"]),
                rate(wire["messages"], wire["seconds"]),
            )
    return rows


def _paired_raw_rate(stages: dict[str, Any]) -> float | None:
    """Raw Jinja renders per second on the messages the broadcast rendered twice."""
    raw = stages.get("render_pairs_raw")
    if not raw or raw["seconds"] <= 0:
        return None
    return rate(raw["items"], raw["seconds"])


def targets(result: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) for the issue's targets that this run can check."""
    out: list[tuple[str, str, bool | None]] = []
    b = result["scenarios"]["broadcast"]
    st = b["stages"]
    c = result["ceilings"]
    db = result["db"]
    n = result["customers"]
    if n >= 1_000_000 and db == "sqlite":
        out.append(("broadcast 1M SQLite <= 60 s", f"{b['seconds']:.1f} s", b["seconds"] <= 60))
        out.append(
            (
                "peak RSS <= 1024 MiB",
                f"{result['peak_rss_mib']:.0f} MiB",
                result["peak_rss_mib"] <= 1024,
            )
        )
    else:
        scaled = b["seconds"] * 1_000_000 / max(n, 1)
        out.append(("broadcast, scaled to 1M, <= 60 s", f"{scaled:.0f} s (linear)", scaled <= 60))
    select_s = st.get("select", {}).get("seconds", 0) + st.get("audiences", {}).get("seconds", 0)
    sel = rate(st.get("select", {}).get("items", 0), select_s) / max(
        rate(c["fetch"]["customers"], c["fetch"]["seconds"]), 1
    )
    out.append(("selection >= 0.5 of raw fetch", f"{sel:.2f}", sel >= 0.5))
    if summary := b.get("render_pairs"):
        # Same messages, same moments: raw Jinja's time over the engine's, the median
        # of the pairs.
        ren = summary["median"]
        label = "render >= 0.8 of raw Jinja (paired, median)"
    else:  # results written before the pairs existed
        ren = rate(st["render"]["items"], st["render"]["seconds"]) / max(
            rate(c["render"]["messages"], c["render"]["seconds"]), 1
        )
        label = "render >= 0.8 of raw Jinja"
    out.append((label, f"{ren:.2f}", ren >= 0.8))
    tight = rate(st["render"]["items"], st["render"]["seconds"]) / max(
        rate(c["render"]["messages"], c["render"]["seconds"]), 1
    )
    out.append(("render vs raw Jinja tight loop (reported)", f"{tight:.2f}", None))
    wr = rate(st["write"]["items"], st["write"]["seconds"]) / max(
        rate(c["insert"]["rows"], c["insert"]["seconds"]), 1
    )
    bar = 0.4 if db == "sqlite" else 0.8
    raw_name = "executemany" if db == "sqlite" else "COPY"
    out.append((f"outbox writes >= {bar} of raw {raw_name}", f"{wr:.2f}", wr >= bar))
    for channel, sink, ceiling in (("email", "SMTP", "smtp"), ("sms", "HTTP", "http")):
        d = result["delivery"].get(channel)
        if not d:
            continue
        got = rate(d["sink_count"], d["seconds"])
        frac = got / max(rate(c[ceiling]["messages"], c[ceiling]["seconds"]), 1)
        if d.get("command"):
            out += _command_targets(got, frac, c.get("smtp_source") or {})
            continue
        out.append((f"{channel} >= 2,000/s into {sink} sink", f"{got:,.0f}/s", got >= 2000))
        out.append((f"{channel} >= 0.7 of raw {sink} loop", f"{frac:.2f}", frac >= 0.7))
        if channel == "sms" and (wire := c.get("http_wire")):
            own = got / max(rate(wire["messages"], wire["seconds"]), 1)
            out.append(("sms vs raw loop on the adapter's own wire (reported)", f"{own:.2f}", None))
    if channel := result["delivery"].get("email"):
        per_k = 1000 * channel["connections"] / max(channel["sink_count"], 1)
        out.append(("<= 3 SMTP connection set-ups / 1,000", f"{per_k:.2f}", per_k <= 3))
    if runs := result.get("decision_runs"):
        # The fastest of the with, with and the without, without runs (bench/run.py):
        # what another process takes from a run only ever adds to its time.
        stored, skipped = min(runs["with"]), min(runs["without"])
        cost = stored / max(skipped, 1e-9) - 1
        out.append(
            (
                "storing plan decisions costs <= 10 % of the broadcast (fastest runs)",
                f"{cost:+.0%} (with: {', '.join(f'{s:.1f}' for s in runs['with'])} s; "
                f"without: {', '.join(f'{s:.1f}' for s in runs['without'])} s)",
                cost <= 0.10,
            )
        )
    r = result["scenarios"]["repeat"]
    share = r["seconds"] / max(b["seconds"], 1e-9)
    out.append(("repeat tick adds 0 rows", str(r["inserted"]), r["inserted"] == 0))
    out.append(("repeat tick < 10 % of broadcast time", f"{share:.0%}", share < 0.10))
    if ratio := result.get("ratio_vs_100k"):
        out.append(("time ratio 1M / 100k <= 11", f"{ratio['time']:.1f}", ratio["time"] <= 11))
        out.append(("RSS 1M <= 1.2x RSS 100k", f"{ratio['rss']:.2f}", ratio["rss"] <= 1.2))
    return out


def _command_targets(
    got: float, loop: float, sources: dict[str, Any]
) -> list[tuple[str, str, bool | None]]:
    """Issue 20's e-mail targets: `rapport dispatch --once` into postfix's smtp-sink."""
    out: list[tuple[str, str, bool | None]] = [
        ("email, rapport dispatch --once into smtp-sink, >= 2,000/s", f"{got:,.0f}/s", got >= 2000)
    ]
    if connect := sources.get("connect"):
        frac = got / max(rate(connect["messages"], connect["seconds"]), 1)
        out.append(
            (
                "email >= 0.5 of smtp-source (its default: a connection a message)",
                f"{frac:.2f}",
                frac >= 0.5,
            )
        )
    if reuse := sources.get("reuse"):
        frac = got / max(rate(reuse["messages"], reuse["seconds"]), 1)
        out.append(("email vs smtp-source -d (connections kept, reported)", f"{frac:.2f}", None))
    out.append(("email vs raw aiosmtplib loop (reported)", f"{loop:.2f}", None))
    return out


def table(result: dict[str, Any]) -> str:
    lines = [
        f"### {result['db']}, {result['customers']:,} customers ({result['started']})",
        "",
        "| stage | engine | ceiling | fraction |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in figures(result)]
    lines += [
        "",
        f"Stage figures come from the broadcast's one-process pass; the broadcast row is "
        f"the run with {result.get('planning_workers', 1)} planning process(es).",
        "",
        "| scenario | seconds | customers | read | planned | inserted | SQL statements |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in result["scenarios"].items():
        read = s.get("candidates", s["customers"])
        lines.append(
            f"| {name.replace('_', ' ')} | {s['seconds']:.2f} | {s['customers']:,} | {read:,} | "
            f"{s['planned']:,} | {s['inserted']:,} | {s['statements']:,} |"
        )
    lines += ["", "| delivery | sent | seconds | p50 ms | p99 ms | connections | SQL |"]
    lines += ["|---|---:|---:|---:|---:|---:|---:|"]
    for name, d in result["delivery"].items():
        lines.append(
            f"| {name} | {d['sink_count']:,} | {d['seconds']:.2f} | {d['p50_ms']:.1f} | "
            f"{d['p99_ms']:.1f} | {d['connections']} | {d['statements']:,} |"
        )
    lines += [
        "",
        f"Peak RSS: {result['peak_rss_mib']:.0f} MiB "
        f"(after data load {result['rss_after_load_mib']:.0f} MiB)",
        "",
    ]
    if load := result.get("load_average"):
        lines += [
            f"Load average when the run started: {' / '.join(f'{x:.2f}' for x in load)} "
            f"(1 / 5 / 15 min); connections per channel: {result['concurrency']}",
            "",
        ]
    lines += ["| target | measured | met |", "|---|---:|:---:|"]
    for name, value, met in targets(result):
        shown = "" if met is None else "yes" if met else "NO"
        lines.append(f"| {name} | {value} | {shown} |")
    return "\n".join(lines) + "\n"


def latest_results(out: Path) -> dict[tuple[str, int], dict[str, Any]]:
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for path in sorted(out.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        found[(data["db"], data["customers"])] = data
    return found


def write_latest(out: Path) -> Path:
    """``latest.md``: the newest run for every (database, size) in ``out``."""
    runs = latest_results(out)
    parts = [
        "# Benchmark results (latest run per database and size)",
        "",
        "Written by `python -m bench`; see docs/benchmarks.md for what each figure means.",
        "",
    ]
    for key in sorted(runs, key=lambda k: (k[1], k[0])):
        parts.append(table(runs[key]))
    if (started := startup.latest(out)) is not None:
        parts.append(startup.table(started))
    path = out / "latest.md"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
