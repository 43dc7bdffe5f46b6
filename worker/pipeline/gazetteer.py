"""The units a deployment knows (填报单位 names): a read that lost or gained one or two
characters of a known unit, or changed one, is mended to it (flagged, see `report_trust`);
a read that is a known unit exactly is corroborated by it.

Files are plain text, one name a line, or CSV with the name in the first column; blank lines
and lines starting with # are skipped.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz.distance import Indel
from rapidfuzz.process import extract

BUILT_IN = Path(__file__).resolve().parents[2] / "models" / "gazetteer" / "units.txt"


@dataclass(frozen=True)
class Gazetteer:
    units: frozenset[str]

    @classmethod
    def of(cls, names: Iterable[str]) -> Gazetteer:
        return cls(frozenset(n.strip() for n in names if n.strip()))

    @classmethod
    def load(cls, paths: Iterable[Path]) -> Gazetteer:
        """The names in the files, in order; a missing file raises FileNotFoundError."""
        names: list[str] = []
        for path in paths:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                names.extend(row[0] for row in csv.reader(handle) if row and not row[0].lstrip().startswith("#"))
        return cls.of(names)

    def with_units(self, names: Iterable[str]) -> Gazetteer:
        """These units known as well (those reviewers taught the service)."""
        added = frozenset(names) - self.units
        return Gazetteer(self.units | added) if added else self

    def knows(self, name: str) -> bool:
        return name in self.units

    def nearest(self, name: str, max_distance: int) -> str | None:
        """The one known unit within `max_distance` characters added or lost (a changed one
        counts two) of the name; None when there is none, or more than one equally near (then
        the read does not say which). Two names of one place often differ in two characters
        (余姚市司法局, 余姚市档案局): they are four apart, never mended to each other."""
        if max_distance < 1:
            return None
        found = extract(name, self.units, scorer=Indel.distance, score_cutoff=max_distance, limit=2)
        if not found or (len(found) > 1 and found[1][1] == found[0][1]):
            return None
        return found[0][0]
