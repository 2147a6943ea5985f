"""Figure 4: many concurrent async streams on one event loop.

Each contender gets one async client; a round is ``streams`` streams of ``chunks`` chunks
started together with ``asyncio.gather`` and drained; the figure is the round's wall time.
After one untimed round per contender (which also opens the connections), ``runs`` rounds run
in an order rotated each round; the median is reported, with its ratio to raw httpx.
"""

from __future__ import annotations

import asyncio
from functools import partial

from contenders import BASELINE, AsyncSession, Contender, setup_notes
from harness import Lineup
from report import Section, Target, num, ratio, times
from timing import clock, median, quiet, rotated

__all__ = ["CONCURRENT_TARGET", "measure_concurrent"]

CONCURRENT_TARGET = Target(1.5, "<= 1.5x raw httpx")


async def _round(session: AsyncSession, streams: int, chunks: int) -> float:
    start = clock()
    counts = await asyncio.gather(*(session.stream() for _ in range(streams)))
    took = clock() - start
    short = [n for n in counts if n < chunks]
    if short:
        raise RuntimeError(f"{len(short)} of {streams} streams ended early ({min(short)} chunks)")
    return took


async def _measure(
    lineup: Lineup, url: str, streams: int, chunks: int, runs: int
) -> dict[str, list[float]]:
    sessions: dict[str, AsyncSession] = {}
    walls: dict[str, list[float]] = {c.name: [] for c in lineup.contenders}
    try:
        for contender in lineup.live:

            async def start(c: Contender = contender) -> AsyncSession:
                session = sessions[c.name] = c.async_session(url)
                await _round(session, streams, chunks)  # warm-up: opens the connections
                return session

            await lineup.arun(contender, start)
        for run in range(runs):
            for contender in rotated(lineup.live, run):
                quiet()
                session = sessions[contender.name]
                took = await lineup.arun(contender, partial(_round, session, streams, chunks))
                if took is not None:
                    walls[contender.name].append(took)
    finally:
        for session in sessions.values():
            await session.aclose()
    return walls


def _uneven(rounds: list[float]) -> bool:
    return len(rounds) > 1 and max(rounds) > 2 * min(rounds)


def measure_concurrent(
    contenders: list[Contender], url: str, streams: int, chunks: int, runs: int
) -> Section:
    """Median wall time of ``streams`` concurrent ``chunks``-chunk streams per contender."""
    section = Section(
        "concurrent",
        f"4. {streams} concurrent async streams x {chunks} chunks (median of {runs} round"
        + ("s)" if runs != 1 else ")"),
        ["contender", "wall ms", "chunks/s", "x raw httpx", "every round ms", "target",
         "result"],
    )
    lineup = Lineup(contenders)
    walls = asyncio.run(_measure(lineup, url, streams, chunks, runs))
    floor = median(walls[BASELINE])
    total_chunks = streams * chunks
    for contender in contenders:
        why = lineup.why_not(contender)
        if why:
            section.unavailable(contender.name, why)
            continue
        wall = median(walls[contender.name])
        vs_floor = ratio(wall, floor)
        target = result = ""
        if contender.has_target("concurrent"):
            target, result = CONCURRENT_TARGET.text, CONCURRENT_TARGET.verdict(vs_floor)
        section.add(
            [contender.name, num(wall * 1000), num(total_chunks / wall, 0), times(vs_floor),
             " / ".join(num(s * 1000, 0) for s in walls[contender.name]), target, result],
            {
                "contender": contender.name,
                "streams": streams,
                "chunks": chunks,
                "seconds_median": wall,
                "seconds_all": walls[contender.name],
                "chunks_per_s": total_chunks / wall,
                "ratio_raw_httpx": vs_floor,
                "target": target or None,
                "result": result or None,
            },
        )
    uneven = [c.name for c in contenders if _uneven(walls[c.name])]
    section.notes += [
        "One async client per contender, all streams on one asyncio event loop; the first"
        " (untimed) round opens the connections. Rounds run in rotated order, so whether a"
        " contender's idle connections are still alive at its next round depends on its"
        " keep-alive expiry and on how long the other contenders' rounds took.",
        *(f"{c.name}: {c.describe()}" for c in contenders if c.describe()),
        *setup_notes(contenders),
    ]
    if uneven:
        section.notes.append(
            "Rounds differ by more than 2x for " + ", ".join(uneven) + ": a burst of requests"
            " on a pool of many idle keep-alive connections can be far slower than on fresh"
            " connections (httpcore 1.0's pool bookkeeping grows with idle connections"
            " squared); the median hides one such round out of three, not two."
        )
    return section
