"""What reviewers have taught the service, handed to each extraction: row label spellings
accepted for a code (`models.aliases`) and reporting units' names (`models.known_units`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Learnt:
    aliases: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # template id → normalized label → code
    units: frozenset[str] = frozenset()  # names of units, as reviewers confirmed or typed them
