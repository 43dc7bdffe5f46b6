"""Validate stage: the catalogue's arithmetic over the printed numbers.

Real reports do not always add up. What is printed is kept; the fields of a rule that
does not hold are flagged with the reason, and nothing is "fixed". Only a cell whose print
gave no number at all gets the value the rules imply (`implied_values`), for review.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from models.catalogue import Catalogue, Rule

Number = int | float
INFERRED = "inferred_from_sum"  # a value the rules imply for a cell that could not be read
# Doubts about a cell's own reading, which faint or damaged print can cause in two cells
# alike; a seal or a unit misread over one cell says nothing of another.
WEAK_READ = frozenset({"low_ocr_confidence", "digits_isolated", "width_mismatch", "ocr_confusion", "blank_value"})


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


def corroborated(
    checks: list[RuleCheck], values: Mapping[str, Number | None], doubts: Mapping[str, Collection[str]] | None = None
) -> set[str]:
    """Codes a sum that adds up exactly to its printed total vouches for: a misread term
    would have to be cancelled by another error to pass. `doubts`: the fields in doubt
    before arithmetic, with their reasons.

    Unless errors that cancel are likely: a weak read (WEAK_READ) can strike two cells
    alike (faint print loses the 7 of 47 in both 一 and （一）), so a field in doubt is
    vouched for when its sum has a total not in doubt, or no other weak read in doubt. A
    field vouched for is sure for the next sum. A field in doubt holding no number never
    is: a sum counts a blank or dash as 0, so it cannot tell a lost "0" from an empty cell.
    """
    doubts = doubts or {}
    holding = [check for check in checks if check.holds and check.rule.kind == "sum"]
    unsure = set(doubts)
    weak = {code for code, reasons in doubts.items() if WEAK_READ & set(reasons)}
    vouched = True
    while vouched:
        vouched = False
        for check in holding:
            for code in check.codes:
                if code in unsure and _vouches_for(check, code, unsure & weak, unsure, values):
                    unsure.discard(code)
                    vouched = True
    return {code for check in holding for code in check.codes if code not in unsure}


def _vouches_for(
    check: RuleCheck, code: str, weak: set[str], unsure: set[str], values: Mapping[str, Number | None]
) -> bool:
    if values.get(code) is None:
        return False
    sure_total = code != check.rule.target and check.rule.target not in unsure
    return sure_total or not any(other in weak for other in check.codes if other != code)


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


def implied_values(
    rules: Iterable[Rule], values: Mapping[str, Number | None], unread: Collection[str]
) -> dict[str, Number]:
    """Numbers the rules imply for value cells whose print could not be read (a 0 under a
    seal's lettering), as a suggestion for the person who reviews them; the field keeps the
    text read and goes to review (reason `inferred_from_sum`).

    `values`: the fields found (a blank or dash is None and counts as 0); a code absent
    from it was not found and is unknown, as is a code in `unread`. A rule implies a value
    when it has one unknown (a total, or a term: the total less the other terms, if not
    negative), or when its known terms already make up its total, so every unknown term is
    0 (counts are not negative); a parent printed 0 makes its 其中 rows 0 too. Implied
    values feed other rules; a code two rules disagree on is left out.
    """
    rules = tuple(rules)
    implied: dict[str, Number] = {}
    disputed: set[str] = set()
    while True:
        known = {code: v for code, v in values.items() if code not in unread} | implied
        found: dict[str, Number] = {}
        for rule in rules:
            for code, number in _solve(rule, known).items():
                if code in unread and code not in implied and found.setdefault(code, number) != number:
                    disputed.add(code)
        found = {code: v for code, v in found.items() if code not in disputed}
        if not found:
            return implied
        implied |= found


def _solve(rule: Rule, known: Mapping[str, Number | None]) -> dict[str, Number]:
    """The unknown codes of one rule it fixes (a term written -CODE is subtracted)."""
    if rule.kind == "le":
        parent = known.get(rule.target, -1)
        return dict.fromkeys((t for t in rule.terms if t not in known), 0) if parent == 0 else {}
    # target − Σ terms = 0, as coefficients: the target +1, a term −1, a subtracted term +1.
    signed = [(1, rule.target)] + [(1, t[1:]) if t.startswith("-") else (-1, t) for t in rule.terms]
    rest = -sum(sign * (known[code] or 0) for sign, code in signed if code in known)
    unknown = [(sign, code) for sign, code in signed if code not in known]
    if len(unknown) == 1:
        sign, code = unknown[0]
        number = _tidy(rest / sign)
        return {code: number} if number >= 0 else {}
    if unknown and abs(rest) < 1e-6 and len({sign for sign, _ in unknown}) == 1:
        return dict.fromkeys((code for _, code in unknown), 0)
    return {}


def _tidy(number: float) -> Number:
    number = round(number, 6)
    return int(number) if float(number).is_integer() else number
