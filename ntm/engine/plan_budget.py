"""Spending a budget across communes: the most communes reaching the target, exactly.

Each commune that money can lift is an item with weight = its minimal plan cost and value 1. Maximising the
number of items within the budget is solved exactly by taking the cheapest items first:

  Claim: if any m items fit in budget B, the m cheapest fit. Proof: the m cheapest have the smallest total
  weight of any m-subset (exchange argument: swapping an item for a cheaper unused one never raises the total).
  So the optimum count m* is the largest m whose m cheapest items fit, and the prefix of the sorted list is an
  optimal selection. Cost: O(n log n) for the sort, O(n) for the scan. Ties (equal cost) are broken by the
  commune code, so the selection is deterministic; any set of m* items with the same total is equally optimal.

What the remainder buys next is a greedy, stated as such: the cheapest commune not selected, and its cheapest
priced changes that still fit (progress towards it, not a guarantee of any criterion).
"""

from __future__ import annotations

from fractions import Fraction


def select(items: list[tuple[str, Fraction]], budget: Fraction) -> tuple[list[str], Fraction]:
    """Codes of the largest set of items whose total cost ≤ budget (cheapest first, ties by code); and the spend."""
    chosen, spent = [], Fraction(0)
    for code, cost in sorted(items, key=lambda it: (it[1], it[0])):
        if spent + cost > budget:
            break
        chosen.append(code)
        spent += cost
    return chosen, spent


def partial(changes: list[tuple[str, Fraction]], remainder: Fraction) -> tuple[list[str], Fraction]:
    """Which of one commune's priced changes the remainder pays for, cheapest first (ties by fact id)."""
    bought, spent = [], Fraction(0)
    for fact, cost in sorted(changes, key=lambda it: (it[1], it[0])):
        if spent + cost > remainder:
            break
        bought.append(fact)
        spent += cost
    return bought, spent
