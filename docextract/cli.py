"""The `docextract` command: one Typer app; each group of commands lives in its own module."""

from __future__ import annotations

import typer

from docextract import cli_extract

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


@app.callback()
def root() -> None:
    """docextract: scanned statistics tables to validated indicator JSON."""


cli_extract.register(app)

try:  # the service commands need the service dependencies, which the CLI does not
    from docextract import cli_service
except ImportError:  # pragma: no cover - only without the service extras
    cli_service = None
else:
    cli_service.register(app)
    from docextract import cli_review  # the review commands need the service dependencies too

    cli_review.register(app)


def main() -> None:
    app()
