"""The order in which a routed call tries its eligible targets, per strategy.

Each strategy only orders; skipping targets whose breaker is open or whose rate budget is
spent, and falling back along the order, is the flow's (:mod:`metallm.router._flow`).

- ``fallback``: the targets' own order, every call.
- ``round_robin``: the order rotated by one per call, so first tries spread evenly.
- ``weighted``: a weighted draw without replacement (first pick in proportion to the weights,
  then the next among the rest, ...), from the router's own random generator (``seed=`` makes
  it repeatable).
- ``least_busy``: fewest attempts in flight in this process first (ties in target order).
- ``lowest_latency``: lowest moving median latency first; targets with no sample yet go first
  (so each gets measured), and a small share of calls (``EXPLORE``) takes a random order so a
  target that got faster is noticed.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence

from ._members import Member

__all__ = ["EXPLORE", "Orderer", "orderer"]

EXPLORE = 0.05
"""The share of ``lowest_latency`` calls that take a random order."""

Orderer = Callable[[Sequence[Member]], list[Member]]


def orderer(strategy: str, rng: random.Random) -> Orderer:
    """The ordering function of ``strategy`` (checked by the router already)."""
    if strategy == "fallback":
        return list
    if strategy == "round_robin":
        turns = itertools.count()

        def round_robin(members: Sequence[Member]) -> list[Member]:
            if len(members) < 2:
                return list(members)
            start = next(turns) % len(members)
            return [*members[start:], *members[:start]]

        return round_robin
    if strategy == "weighted":

        def weighted(members: Sequence[Member]) -> list[Member]:
            if len(members) < 2:
                return list(members)
            left = list(members)
            order: list[Member] = []
            while left:
                total = sum(m.weight for m in left)
                point = rng.random() * total
                for i, member in enumerate(left):
                    point -= member.weight
                    if point < 0 or i == len(left) - 1:
                        order.append(left.pop(i))
                        break
            return order

        return weighted
    if strategy == "least_busy":
        return lambda members: sorted(members, key=lambda m: (m.in_flight, m.index))

    def lowest_latency(members: Sequence[Member]) -> list[Member]:
        if len(members) < 2:
            return list(members)
        if rng.random() < EXPLORE:
            order = list(members)
            rng.shuffle(order)
            return order
        return sorted(members, key=lambda m: (m.p50() if m.latencies else -1.0, m.index))

    return lowest_latency
