"""Validate the identities of the 2019+ tables (flag, never fix).

Rules are `models/catalogues/<id>-rules.csv` rows of kind `sum`: target = the sum of the
terms, where a term written `-CODE` is subtracted, so 一 + 二 = （七）总计 + 四 is written
（七） = 一 + 二 − 四. A blank term counts as 0; a rule whose target was not printed is not
checked. A failing rule flags all its codes with `sum_mismatch`; printed numbers stay.
"""

from __future__ import annotations

from models.catalogue import Rule
from worker.pipeline.validate import Number, RuleCheck


def _signed(term: str) -> tuple[int, str]:
    return (-1, term[1:]) if term.startswith("-") else (1, term)


def check_identities(values: dict[str, Number | None], rules: tuple[Rule, ...]) -> list[RuleCheck]:
    checks = []
    for rule in rules:
        target = values.get(rule.target)
        if target is None:
            continue
        terms = [_signed(t) for t in rule.terms]
        total = round(sum(sign * (values.get(code) or 0) for sign, code in terms), 6)
        plain = Rule(rule.kind, rule.target, tuple(code for _, code in terms), rule.note)
        checks.append(RuleCheck(plain, abs(total - target) < 1e-6, total, target))
    return checks
