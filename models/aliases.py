"""Label aliases learnt from review: row labels as read that a reviewer accepted for a code.

When a field matched with a low label similarity is confirmed or corrected, the reviewer has
accepted that the row (its label as read, normalized) is that code; matching can take such a
label as certain next time. Labels are stored normalized by the caller with the matcher's own
`worker.pipeline.mapping.normalize_label`, so lookups use the same function.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.db import LabelAlias, insert_ignoring_conflicts


def record_alias(session: Session, template_id: str, label: str, code: str, api_key_id: int | None) -> bool:
    """Keep (label → code); True when it is new. Repeats are no-ops (unique key)."""
    if not label:
        return False
    row = {"template_id": template_id, "label": label, "code": code, "api_key_id": api_key_id}
    return insert_ignoring_conflicts(session, LabelAlias, [row], ["template_id", "label", "code"]) == 1


def load_aliases(session: Session) -> dict[str, dict[str, str]]:
    """Template id → normalized label → code, for every template. A label reviewers accepted
    for two different codes of a template says nothing about either, so it is left out."""
    codes: dict[tuple[str, str], set[str]] = {}
    for template_id, label, code in session.execute(select(LabelAlias.template_id, LabelAlias.label, LabelAlias.code)):
        codes.setdefault((template_id, label), set()).add(code)
    aliases: dict[str, dict[str, str]] = {}
    for (template_id, label), found in sorted(codes.items()):
        if len(found) == 1:
            aliases.setdefault(template_id, {})[label] = next(iter(found))
    return aliases
