"""Figure 3: one long stream (throughput, cost per chunk) and time to first chunk.

Throughput: each contender drains one stream of ``chunks`` content chunks (plus the role,
finish and usage chunks every OpenAI stream has) ``runs`` times after one untimed stream, in an
order rotated each run; the figure is the median. The cost per chunk above raw httpx is
``(t - t_raw_httpx) / chunks``: what the library adds to each event on top of reading lines and
``json.loads``.

Time to first chunk: ``ttfc_runs`` short streams per contender (rotated), from the call that
opens the stream to the first chunk the library yields; the rest of the stream is drained
untimed, so the connection goes back to the pool as in normal use. Median.
"""

from __future__ import annotations

from functools import partial

from contenders import BASELINE, Contender, SyncSession, setup_notes
from harness import Lineup
from report import Section, Target, num, ratio, times
from timing import clock, cpu_clock, median, quiet, rotated

__all__ = ["STREAM_TARGET", "measure_stream"]

STREAM_TARGET = Target(8.0, "<= 8 us/chunk")


def _timed_stream(session: SyncSession) -> tuple[float, float, int]:
    cpu, start = cpu_clock(), clock()
    count = session.stream()
    return clock() - start, cpu_clock() - cpu, count


def measure_stream(
    contenders: list[Contender],
    *,
    long_url: str,
    chunks: int,
    runs: int,
    short_url: str,
    ttfc_runs: int,
) -> Section:
    """Median time to drain a ``chunks``-chunk stream, and median time to first chunk."""
    section = Section(
        "stream",
        f"3. One stream of {chunks:,} chunks (median of {runs}) and time to first chunk"
        f" (median of {ttfc_runs})",
        ["contender", "chunks/s", "us/chunk", "cost us/chunk", "x raw httpx", "CPU us/chunk",
         "TTFC ms", "TTFC x raw httpx", "target", "result"],
    )
    lineup = Lineup(contenders)
    long: dict[str, SyncSession] = {}
    short: dict[str, SyncSession] = {}
    walls: dict[str, list[float]] = {c.name: [] for c in contenders}
    cpus: dict[str, list[float]] = {c.name: [] for c in contenders}
    counts: dict[str, int] = {}
    firsts: dict[str, list[float]] = {c.name: [] for c in contenders}
    try:
        for contender in lineup.live:
            for sessions, url in ((long, long_url), (short, short_url)):
                session = lineup.run(contender, partial(contender.sync_session, url))
                if session is not None:
                    sessions[contender.name] = session
                    lineup.run(contender, session.stream)  # warm-up, untimed
        for run in range(runs):
            for contender in rotated(lineup.live, run):
                quiet()
                got = lineup.run(contender, partial(_timed_stream, long[contender.name]))
                if got is not None:
                    walls[contender.name].append(got[0])
                    cpus[contender.name].append(got[1])
                    counts[contender.name] = got[2]
        for run in range(ttfc_runs):
            for contender in rotated(lineup.live, run):
                quiet()
                first = lineup.run(contender, short[contender.name].first_chunk)
                if first is not None:
                    firsts[contender.name].append(first)
    finally:
        for session in [*long.values(), *short.values()]:
            session.close()

    floor = median(walls[BASELINE])
    floor_ttfc = median(firsts[BASELINE])
    spreads: list[str] = []
    for contender in contenders:
        why = lineup.why_not(contender)
        if why:
            section.unavailable(contender.name, why)
            continue
        wall, ttfc = median(walls[contender.name]), median(firsts[contender.name])
        cpu = median(cpus[contender.name]) / chunks * 1e6
        pairs = zip(walls[contender.name], walls[BASELINE], strict=False)
        paired = [(took - base) / chunks * 1e6 for took, base in pairs]
        if contender.name != BASELINE and len(paired) > 1:
            spreads.append(f"{contender.name} {num(min(paired), 2)} to {num(max(paired), 2)} us")
        cost = (wall - floor) / chunks * 1e6
        target = result = ""
        if contender.has_target("stream"):
            target, result = STREAM_TARGET.text, STREAM_TARGET.verdict(cost)
        section.add(
            [contender.name, num(chunks / wall, 0), num(wall / chunks * 1e6, 2), num(cost, 2),
             times(ratio(wall, floor)), num(cpu, 2), num(ttfc * 1000, 2),
             times(ratio(ttfc, floor_ttfc)),
             target, result],
            {
                "contender": contender.name,
                "chunks": chunks,
                "chunks_yielded": counts.get(contender.name),
                "seconds_median": wall,
                "seconds_all": walls[contender.name],
                "chunks_per_s": chunks / wall,
                "us_per_chunk": wall / chunks * 1e6,
                "cost_us_per_chunk": cost,
                "ratio_raw_httpx": ratio(wall, floor),
                "cpu_us_per_chunk": cpu,
                "cost_us_per_chunk_by_run": paired,
                "ttfc_ms_median": ttfc * 1000,
                "ttfc_ratio_raw_httpx": ratio(ttfc, floor_ttfc),
                "target": target or None,
                "result": result or None,
            },
        )
    yielded = sorted(set(counts.values()))
    section.notes += [
        "cost = (t_contender - t_raw_httpx) / chunks: what the library adds per chunk above"
        " `iter_lines()` + `json.loads`.",
        f"Chunks yielded per stream: {', '.join(map(str, yielded))} ({chunks:,} content chunks"
        " plus the role, finish and usage chunks).",
        "TTFC: from the call that opens the stream to the first chunk yielded (a warm"
        " connection), on a short stream.",
        "CPU us/chunk: the benchmark process's CPU time per chunk (median run), for reading the"
        " wall times on a busy machine; the server's CPU is not in it.",
        *setup_notes(contenders),
    ]
    if spreads:
        section.notes.append(
            "Noise: cost per chunk in each run, against the raw httpx stream of the same run: "
            + "; ".join(spreads) + "."
        )
    return section
