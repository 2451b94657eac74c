"""catalog: the price book and edition comparisons."""

from __future__ import annotations

import json

import click

from zplan.cli.options import (
    Group,
    cli,
    command,
    global_options,
    settings,
)
from zplan.errors import ExitCode

# catalog -------------------------------------------------------------------


@cli.group(
    "catalog",
    cls=Group,
    invoke_without_command=True,
    epilog="Examples:\n  zplan catalog\n  zplan catalog --format json\n"
    "  zplan catalog compare suite\n  zplan --catalog acme.yaml catalog",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@global_options
@click.pass_context
def catalog_group(ctx: click.Context, fmt: str) -> int | None:
    """The price book: products, editions, add-ons and promotions."""
    if ctx.invoked_subcommand is not None:
        return None
    catalog = settings(ctx).catalog()
    if fmt == "json":
        click.echo(json.dumps(catalog.to_json(), indent=2, ensure_ascii=False))
    else:
        from zplan.render.catalog import render_catalog

        click.echo(render_catalog(catalog), nl=False)
    return ExitCode.OK


@command(
    catalog_group,
    "compare",
    """
zplan catalog compare suite
zplan catalog compare support --currency EUR
""",
)
@click.argument("product")
@click.option("--currency", default=None, help="Currency (default: the catalog's first).")
@click.pass_context
def catalog_compare_command(ctx: click.Context, product: str, currency: str | None) -> int:
    """A product's editions side by side: prices, annual saving, limits, features."""
    from zplan.render.catalog import render_compare

    catalog = settings(ctx).catalog()
    click.echo(render_compare(catalog, product, currency), nl=False)
    return ExitCode.OK
