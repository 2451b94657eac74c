"""forecast: the next months of spend, before and after the planned changes."""

from __future__ import annotations

import click

from zplan.cli.options import StderrProgress, cli, command, settings
from zplan.errors import ExitCode


@command(
    cli,
    "forecast",
    """
zplan forecast accounts/
zplan forecast accounts/acme.yaml --months 24
zplan forecast accounts/ --format markdown > forecast.md   # a table and a Mermaid chart
zplan --at 2027-01-01 forecast accounts/ --format json
""",
)
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--months", type=click.IntRange(1, 60), default=12, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text")
@click.pass_context
def forecast_command(ctx: click.Context, paths: tuple[str, ...], months: int, fmt: str) -> int:
    """Month by month: each account's invoices and run rate, before and after its plan."""
    from zplan.pipeline import workflow
    from zplan.render import forecast as render

    config = settings(ctx)
    with config.store() as store, StderrProgress() as progress:
        forecast, problems = workflow.make_forecast(paths, config, store, months, progress)
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)
    if fmt == "json":
        import json

        click.echo(json.dumps(forecast, indent=2, ensure_ascii=False))
    else:
        click.echo(render.markdown(forecast) if fmt == "markdown" else render.text(forecast))
    return ExitCode.OK
