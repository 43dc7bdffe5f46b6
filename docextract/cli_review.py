"""`docextract review-stats`: the review queue's metrics and, per reason, how often reviewers
found the machine right: the data to tune the routing thresholds (`DOCEXTRACT_ROUTING__*`) with.

Reads the database at DOCEXTRACT_DATABASE_URL; `GET /v1/review/stats` answers the same.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from api.services.review import QueueStats


def review_stats(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object instead of a table")] = False,
) -> None:
    """Open items, items per hour, median seconds per item, and per-reason acceptance."""
    from api.services.review import queue_stats
    from docextract.settings import get_settings
    from models.db import make_engine, make_session_factory

    engine = make_engine(get_settings().database_url)
    try:
        with make_session_factory(engine)() as session:
            stats = queue_stats(session)
    finally:
        engine.dispose()
    if as_json:
        body = asdict(stats)
        for row, reason in zip(body["reasons"], stats.reasons, strict=True):
            row["machine_right_share"] = reason.machine_right_share
        typer.echo(json.dumps(body, ensure_ascii=False))
        return
    for line in render(stats):
        typer.echo(line)


def render(stats: QueueStats) -> list[str]:
    """The stats as aligned text lines."""
    median = "-" if stats.median_seconds_per_item is None else f"{stats.median_seconds_per_item:g}"
    lines = [
        f"open items: {stats.open_items}",
        f"decided: {stats.decided}",
        f"items per hour (last hour): {stats.items_per_hour}",
        f"median seconds per item: {median}",
        "",
        f"{'reason':<24}{'items':>7}{'confirmed':>11}{'corrected':>11}{'machine right':>15}",
    ]
    for r in stats.reasons:
        share = "-" if r.machine_right_share is None else f"{r.machine_right_share:.0%}"
        lines.append(f"{r.reason:<24}{r.items:>7}{r.confirmed:>11}{r.corrected:>11}{share:>15}")
    return lines


def register(app: typer.Typer) -> None:
    app.command("review-stats")(review_stats)
