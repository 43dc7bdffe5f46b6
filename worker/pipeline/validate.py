"""Validate stage: a template's arithmetic over the printed numbers.

Real reports do not always add up. What is printed is kept; the fields of a rule that
does not hold are flagged with the reason, and nothing is "fixed". Only a cell whose print
gave no number at all gets the value the rules imply (`implied_values`), for review.

Rules (`rules.csv` of a template, `models.catalogue.Rule`): `sum` target = Σ terms, `sum_le`
Σ terms ≤ target, `le` each term ≤ target; a term written `-CODE` is subtracted, so
一 + 二 = （七）总计 + 四 is written （七） = 一 + 二 − 四. A blank term counts as 0; a rule
whose target was not printed is not checked.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from models.catalogue import Rule
from worker.pipeline.reasons import Reason

Number = int | float


def signed(term: str) -> tuple[int, str]:
    """A rule's term as (sign, code): `-CODE` is subtracted."""
    return (-1, term[1:]) if term.startswith("-") else (1, term)


@dataclass(frozen=True)
class RuleCheck:
    rule: Rule
    holds: bool
    expected: Number | None  # the signed sum of the terms (sum rules)
    actual: Number | None  # the printed target

    @property
    def terms(self) -> tuple[tuple[int, str], ...]:
        return tuple(signed(t) for t in self.rule.terms)

    @property
    def codes(self) -> tuple[str, ...]:
        return (self.rule.target, *(code for _, code in self.terms))

    @property
    def reason(self) -> Reason:
        return Reason.SUM_MISMATCH if self.rule.kind == "sum" else Reason.EXCEEDS_PARENT


def check_rules(values: Mapping[str, Number | None], rules: Iterable[Rule]) -> list[RuleCheck]:
    """Evaluate every rule whose target was printed. A blank term counts as 0 in a sum."""
    checks = []
    for rule in rules:
        target = values.get(rule.target)
        if target is None:
            continue
        terms = [signed(t) for t in rule.terms]
        if rule.kind == "le":
            parts = [values.get(code) for _, code in terms]
            checks.append(RuleCheck(rule, all(p is None or p <= target for p in parts), None, target))
            continue
        total = round(sum(sign * (values.get(code) or 0) for sign, code in terms), 6)
        holds = abs(total - target) < 1e-6 if rule.kind == "sum" else total <= target + 1e-6
        checks.append(RuleCheck(rule, holds, total, target))
    return checks


def corroborated(
    checks: list[RuleCheck], values: Mapping[str, Number | None], doubts: Mapping[str, Collection[str]] | None = None
) -> set[str]:
    """Codes a sum that adds up exactly to its printed total vouches for: a misread term
    would have to be cancelled by another error to pass. `doubts`: the fields in doubt
    before arithmetic, with their reasons.

    Unless errors that cancel are likely: a weak read (`Reason.weak_read`) can strike two cells
    alike (faint print loses the 7 of 47 in both 一 and （一）), so a field in doubt is
    vouched for when its sum has a total not in doubt, or no other weak read in doubt. A
    field vouched for is sure for the next sum. A field in doubt holding no number never
    is: a sum counts a blank or dash as 0, so it cannot tell a lost "0" from an empty cell.
    """
    doubts = doubts or {}
    holding = [check for check in checks if check.holds and check.rule.kind == "sum"]
    unsure = set(doubts)
    weak = {code for code, reasons in doubts.items() if any(Reason(r).weak_read for r in reasons)}
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
) -> dict[str, list[Reason]]:
    """The validation reasons each code takes part in (failed rules only).

    A failed rule flags all its fields, unless some of them are `doubtful` already (going
    to a person for another reason) and their values alone can explain the failure: then
    only those are flagged, and the fields read with confidence are not held back by a
    neighbour's misread. Needs `values` for that.
    """
    reasons: dict[str, list[Reason]] = {}
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
    if check.rule.target in suspects:
        return True  # any total or parent can be read wrong
    if check.rule.kind == "le":
        too_big = {code for _, code in check.terms if (values.get(code) or 0) > (check.actual or 0)}
        return too_big <= suspects
    trusted = sum(sign * (values.get(code) or 0) for sign, code in check.terms if code not in suspects)
    missing = (check.actual or 0) - trusted  # what the suspects' signed sum should be
    signs = {sign for sign, code in check.terms if code in suspects}
    if check.rule.kind == "sum_le":
        return missing >= 0 or -1 in signs
    return (missing >= 0 and 1 in signs) or (missing <= 0 and -1 in signs)


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
    if rule.kind in ("le", "sum_le"):
        parent = known.get(rule.target, -1)
        unknown = (code for _, code in map(signed, rule.terms) if code not in known)
        return dict.fromkeys(unknown, 0) if parent == 0 else {}
    # target − Σ terms = 0, as coefficients: the target +1, a term −1, a subtracted term +1.
    coefficients = [(1, rule.target)] + [(-sign, code) for sign, code in map(signed, rule.terms)]
    rest = -sum(sign * (known[code] or 0) for sign, code in coefficients if code in known)
    unknown = [(sign, code) for sign, code in coefficients if code not in known]
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
