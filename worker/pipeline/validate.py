"""Validate stage: the catalogue's arithmetic over the printed numbers.

Real reports do not always add up. What is printed is kept; the fields of a rule that
does not hold are flagged with the reason, and nothing is "fixed".
"""

from __future__ import annotations

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


def reasons_by_code(checks: list[RuleCheck]) -> dict[str, list[str]]:
    """The validation reasons each code takes part in (failed rules only)."""
    reasons: dict[str, list[str]] = {}
    for check in checks:
        if check.holds:
            continue
        for code in check.codes:
            if check.reason not in reasons.setdefault(code, []):
                reasons[code].append(check.reason)
    return reasons
