"""Figure 2: non-stream calls, sequential, one client per contender.

Every contender first makes ``warmup`` untimed calls (connections open, caches warm), then
``calls`` timed calls split into blocks; blocks run in an order rotated each round so drift on
the machine (the server process, other load) spreads over all contenders alike. A contender's
time is the sum of its blocks; its overhead per call is ``(t - t_raw_httpx) / calls``.
"""

from __future__ import annotations

from functools import partial

from contenders import BASELINE, Contender, SyncSession, setup_notes
from harness import Lineup
from report import Section, Target, num, ratio, times
from timing import clock, cpu_clock, quiet, rotated, split

__all__ = ["CALL_TARGET", "measure_calls"]

CALL_TARGET = Target(120.0, "<= 120 us")
_BLOCKS = 10


def _block(session: SyncSession, count: int) -> tuple[float, float]:
    call = session.call
    cpu, start = cpu_clock(), clock()
    for _ in range(count):
        call()
    return clock() - start, cpu_clock() - cpu


def _warm(contender: Contender, base_url: str, warmup: int) -> SyncSession:
    session = contender.sync_session(base_url)
    for _ in range(warmup):
        session.call()
    return session


def _paired_overheads(
    blocks: list[tuple[int, float]], floor: list[tuple[int, float]]
) -> list[float]:
    """Per round: (t_contender - t_raw_httpx) / calls, in microseconds."""
    pairs = zip(blocks, floor, strict=False)  # a failed contender has fewer blocks
    return [(took - base) / count * 1e6 for (count, took), (_, base) in pairs]


def measure_calls(contenders: list[Contender], base_url: str, calls: int, warmup: int) -> Section:
    """Time ``calls`` sequential plain calls per contender against ``base_url``."""
    section = Section(
        "call",
        f"2. Non-stream calls ({calls:,} sequential calls per client, after {warmup} warm-up)",
        ["contender", "calls/s", "us/call", "overhead us/call", "x raw httpx", "CPU us/call",
         "target", "result"],
    )
    lineup = Lineup(contenders)
    sessions: dict[str, SyncSession] = {}
    totals: dict[str, float] = {}
    cpus: dict[str, float] = {}
    blocks: dict[str, list[tuple[int, float]]] = {c.name: [] for c in contenders}
    try:
        for contender in lineup.live:
            session = lineup.run(contender, partial(_warm, contender, base_url, warmup))
            if session is not None:
                sessions[contender.name] = session
                totals[contender.name] = cpus[contender.name] = 0.0
        for round_index, count in enumerate(split(calls, _BLOCKS)):
            for contender in rotated(lineup.live, round_index):
                quiet()
                took = lineup.run(contender, partial(_block, sessions[contender.name], count))
                if took is not None:
                    totals[contender.name] += took[0]
                    cpus[contender.name] += took[1]
                    blocks[contender.name].append((count, took[0]))
    finally:
        for session in sessions.values():
            session.close()

    floor = totals[BASELINE]
    spreads: list[str] = []
    for contender in contenders:
        why = lineup.why_not(contender)
        if why:
            section.unavailable(contender.name, why)
            continue
        total = totals[contender.name]
        per_call = total / calls * 1e6
        overhead = (total - floor) / calls * 1e6
        paired = _paired_overheads(blocks[contender.name], blocks[BASELINE])
        if contender.name != BASELINE and paired:
            spreads.append(f"{contender.name} {num(min(paired))} to {num(max(paired))} us")
        target = result = ""
        if contender.has_target("call"):
            target, result = CALL_TARGET.text, CALL_TARGET.verdict(overhead)
        section.add(
            [contender.name, num(calls / total, 0), num(per_call), num(overhead),
             times(ratio(total, floor)), num(cpus[contender.name] / calls * 1e6), target, result],
            {
                "contender": contender.name,
                "calls": calls,
                "seconds": total,
                "calls_per_s": calls / total,
                "us_per_call": per_call,
                "overhead_us_per_call": overhead,
                "ratio_raw_httpx": ratio(total, floor),
                "cpu_us_per_call": cpus[contender.name] / calls * 1e6,
                "overhead_us_per_call_by_block": paired,
                "target": target or None,
                "result": result or None,
            },
        )
    section.notes += [
        "overhead = (t_contender - t_raw_httpx) / calls: what the library adds to a call above"
        " `httpx.Client.post` + `json.loads`.",
        "Each library is used as documented: keyword arguments, messages as dicts; the response"
        " is the library's parsed object.",
        "CPU us/call: the benchmark process's CPU time per call (user + system), for reading"
        " the wall times on a busy machine; the server's CPU is not in it.",
        *setup_notes(contenders),
    ]
    if spreads:
        section.notes.append(
            f"Noise: overhead per call in each of the {len(split(calls, _BLOCKS))} blocks, against"
            " the raw httpx block of the same round: " + "; ".join(spreads) + "."
        )
    return section
