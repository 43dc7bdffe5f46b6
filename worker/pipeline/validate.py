"""Validate stage: the catalogue's arithmetic over the printed numbers.

Real reports do not always add up. What is printed is kept; the fields of a rule that
does not hold are flagged with the reason, and nothing is "fixed".
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from models.catalogue import Catalogue, Rule

Number = int | float


@dataclass(frozen=True)
class RuleCheck:
    rule: Rule
    holds: bool
    expected: Number | None  # the sum of the terms (sum rules)
    actual: Number | None  # the printed target

    @property
    def codes(self) -> tuple[str, ...]:
        return (self.rule.target, *self.rule.terms)

    @property
    def reason(self) -> str:
        return "sum_mismatch" if self.rule.kind == "sum" else "exceeds_parent"


def check_rules(values: dict[str, Number | None], catalogue: Catalogue) -> list[RuleCheck]:
    """Evaluate every rule whose target was printed. A blank term counts as 0 in a sum."""
    checks = []
    for rule in catalogue.rules:
        target = values.get(rule.target)
        if target is None:
            continue
        if rule.kind == "sum":
            total = round(sum(values.get(t) or 0 for t in rule.terms), 6)
            holds = abs(total - target) < 1e-6
            checks.append(RuleCheck(rule, holds, total, target))
        else:
            parts = [values.get(t) for t in rule.terms]
            holds = all(p is None or p <= target for p in parts)
            checks.append(RuleCheck(rule, holds, None, target))
    return checks


def corroborated(checks: list[RuleCheck]) -> set[str]:
    """Codes of the sums that add up exactly to a printed total. A misread term, or a faint
    digit taken for a blank cell, would have to be cancelled by another error to pass."""
    codes: set[str] = set()
    for check in checks:
        if check.holds and check.rule.kind == "sum":  # only rules with a printed total are checked
            codes.update(check.codes)
    return codes


def reasons_by_code(
    checks: list[RuleCheck], values: Mapping[str, Number | None] | None = None, doubtful: Collection[str] = ()
) -> dict[str, list[str]]:
    """The validation reasons each code takes part in (failed rules only).

    A failed rule flags all its fields, unless some of them are `doubtful` already (going
    to a person for another reason) and their values alone can explain the failure: then
    only those are flagged, and the fields read with confidence are not held back by a
    neighbour's misread. Needs `values` for that.
    """
    reasons: dict[str, list[str]] = {}
    for check in checks:
        if check.holds:
            continue
        suspects = [c for c in check.codes if c in doubtful]
        explained = suspects and values is not None and _explained_by(check, values, set(suspects))
        for code in suspects if explained else check.codes:
            if check.reason not in reasons.setdefault(code, []):
                reasons[code].append(check.reason)
    return reasons


def _explained_by(check: RuleCheck, values: Mapping[str, Number | None], suspects: set[str]) -> bool:
    """Whether some non-negative values of `suspects` would make the rule hold."""
    rule = check.rule
    if rule.target in suspects:
        return True  # any total or parent can be read wrong
    if rule.kind == "sum":
        trusted = sum(values.get(t) or 0 for t in rule.terms if t not in suspects)
        return (check.actual or 0) - trusted >= 0
    too_big = {t for t in rule.terms if (values.get(t) or 0) > (check.actual or 0)}
    return too_big <= suspects
