"""``rapport demo``: a realistic sample planned and dispatched through the file channel."""

from __future__ import annotations

from pathlib import Path

import click

from rapport.engine.cli.app import AppContext, config_option, day_option, parse_day


@click.command()
@click.option(
    "--dir",
    "directory",
    default="var/demo",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the demo writes.",
)
@click.option("--customers", default=360, show_default=True, help="How many sample customers.")
@click.option("--seed", default=7, show_default=True, help="Random seed for the sample.")
@day_option
@config_option
def demo(app: AppContext, directory: Path, customers: int, seed: int, day: str | None) -> None:
    """A realistic sample: plan and dispatch one day through the file channel."""
    from rapport.engine.runtime.demo import run_demo

    config = Path(app.config_path or "config.yaml")
    run_demo(
        app.settings,
        directory,
        customers=customers,
        seed=seed,
        day=parse_day(day),
        echo=click.echo,
        config_file=config if config.exists() else None,
    )
