"""Template detection: which registered form a report carries, from a few header and label cells.

Only cheap text is read: the first rows of each ruled table (its header) and the first
column of the rows below. Every registered template has a vocabulary (`Template.vocabulary`:
its row labels and the phrases its `template.toml` lists); a phrase several templates share
(the tables common to GK2019 and GK2021, the channels GK2008 and FJ2009 both count) belongs
to all of them. Each text votes for the phrase group it matches best. The family with most
votes wins (templates linked by shared phrases), then within it the template with most votes,
shared phrases included, then most of its own; a tie goes to the higher `priority`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz

from models.catalogue import split_marker
from models.template import Template
from worker.pipeline.mapping import normalize_label
from worker.pipeline.matrix import MatrixCell, MatrixTable

_MIN_SIMILARITY = 80
_MIN_VOTES = 3
_PROBE_BANDS = 3  # header rows read in full
_PROBE_LABELS = 12  # first-column cells read below them
_DECISIVE_VOTES = 12  # with this many votes and a clear winner, later pages need no probe
_DECISIVE_CONFIDENCE = 0.9


@dataclass(frozen=True)
class TemplateGuess:
    id: str
    confidence: float  # the family's share of the votes, times how clearly its own phrases pick it
    votes: dict[str, int]  # per template, shared phrases included
    own: dict[str, int]  # per template, its own phrases only
    voted: int  # texts that voted


@dataclass(frozen=True)
class Vocabulary:
    """Normalized phrase → the ids of the templates whose vocabulary holds it."""

    owners: dict[str, frozenset[str]]
    priority: dict[str, int]

    @classmethod
    def of(cls, templates: Iterable[Template]) -> Vocabulary:
        owners: dict[str, set[str]] = {}
        priority = {}
        for template in templates:
            priority[template.id] = template.priority
            for phrase in template.vocabulary():
                owners.setdefault(normalize_label(phrase), set()).add(template.id)
        return cls({p: frozenset(ids) for p, ids in owners.items()}, priority)

    def group_of(self, raw: str) -> frozenset[str] | None:
        """The templates of the phrase group a cell text matches best, or None."""
        text = split_marker(normalize_label(raw))[2]
        if len(text) < 2:
            return None
        best: dict[frozenset[str], float] = {}
        for phrase, ids in self.owners.items():
            best[ids] = max(best.get(ids, 0.0), _score(text, phrase))
        if not best:
            return None
        score, group = max((score, sorted(ids)) for ids, score in best.items())
        return frozenset(group) if score >= _MIN_SIMILARITY else None


def probe_cells(table: MatrixTable) -> list[MatrixCell]:
    """The cells detection reads: the header rows in full and the first column below."""
    chosen: dict[MatrixCell, None] = {}
    for band in range(min(table.bands, _PROBE_BANDS + _PROBE_LABELS)):
        cells = table.band_cells(band)
        for cell in cells if band < _PROBE_BANDS else cells[:1]:
            chosen[cell] = None
    return list(chosen)


def _score(text: str, phrase: str) -> float:
    """Similarity of a cell text to a phrase. A phrase of six characters or more inside a
    slightly longer text counts a little less than the same text; a shorter one (规范性文件,
    inside 行政规范性文件 and 制发规范性文件总数) is too common a fragment to count that way."""
    if text == phrase:
        return 100.0
    if len(phrase) >= 6 and phrase in text and len(text) <= len(phrase) + 8:
        return 95.0
    return fuzz.ratio(text, phrase)


def is_form_text(raw: str, vocabulary: Vocabulary) -> bool:
    """True when a cell's text is one of the forms' phrases (it would vote)."""
    return vocabulary.group_of(raw) is not None


def detect_template(texts: list[str], vocabulary: Vocabulary) -> TemplateGuess | None:
    """The form the texts belong to, or None when too few of them are recognisable."""
    groups: dict[frozenset[str], int] = {}
    for raw in texts:
        group = vocabulary.group_of(raw)
        if group is not None:
            groups[group] = groups.get(group, 0) + 1
    total = sum(groups.values())
    if total < _MIN_VOTES:
        return None
    votes = {tid: sum(n for g, n in groups.items() if tid in g) for tid in vocabulary.priority}
    own = {tid: sum(n for g, n in groups.items() if g == {tid}) for tid in vocabulary.priority}
    families = _families(groups)
    family = max(families, key=lambda f: (sum(n for g, n in groups.items() if g <= f), max(own[t] for t in f)))
    # Within the family: most votes, then most of its own, then the higher priority.
    chosen = max(sorted(family), key=lambda t: (votes[t], own[t], vocabulary.priority[t]))
    family_votes = sum(n for g, n in groups.items() if g <= family)
    specific = sum(own[t] for t in family)
    tied = [t for t in family if votes[t] == votes[chosen]]
    # The family share, times how clearly the template's own phrases pick it within the family.
    clarity = own[chosen] / specific if own[chosen] else 1 / len(tied)
    return TemplateGuess(chosen, round(family_votes / total * clarity, 3), votes, own, total)


def _families(groups: dict[frozenset[str], int]) -> list[frozenset[str]]:
    """Templates linked by phrases they share, as disjoint sets (among the groups voted for)."""
    families: list[set[str]] = []
    for group in groups:
        linked = [f for f in families if f & group]
        merged = set(group).union(*linked)
        families = [f for f in families if not f & group] + [merged]
    return [frozenset(f) for f in families]


def is_decided(guess: TemplateGuess | None) -> bool:
    """True when enough text was seen to stop probing further pages."""
    return guess is not None and guess.voted >= _DECISIVE_VOTES and guess.confidence >= _DECISIVE_CONFIDENCE
