"""``rapport demo``: a realistic sample with months of history, then one day planned and
dispatched through the file channel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from rapport.engine.cli.app import AppContext, config_option, day_option, parse_day


class _DemoFolder(click.Path):
    """--dir, never empty: ``--dir "$DIR"`` with DIR unset named the current folder
    (``rapport init ""`` and ``--config ""`` are usage errors too)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("empty: name the folder, or leave --dir out for var/demo", param, ctx)
        return super().convert(value, param, ctx)


@click.command()
@click.option(
    "--dir",
    "directory",
    default="var/demo",
    show_default=True,
    type=_DemoFolder(file_okay=False, path_type=Path),
    help="Where the demo writes; an earlier demo's folder is replaced, any other is refused.",
)
@click.option(
    "--customers",
    default=360,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="How many sample customers.",
)
@click.option("--seed", default=7, show_default=True, help="Random seed for the sample.")
@click.option(
    "--history-days",
    default=90,
    show_default=True,
    type=click.IntRange(1, 400),
    help="Length of the simulated history, counting the demo day (longer by the days "
    "that day is ahead of today).",
)
@day_option
@config_option
def demo(
    app: AppContext,
    directory: Path,
    customers: int,
    seed: int,
    history_days: int,
    day: str | None,
) -> None:
    """A realistic sample: months of history planned, dispatched and answered under a
    simulated clock, then one day planned and dispatched through the file channel."""
    from rapport.engine.runtime.demo import run_demo

    config = Path(app.config_path or "config.yaml")
    run_demo(
        app.settings,
        directory,
        customers=customers,
        seed=seed,
        day=parse_day(day),
        history_days=history_days,
        echo=click.echo,
        config_file=config if config.exists() else None,
    )
