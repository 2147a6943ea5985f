"""Figure 5: metallm's telemetry against the OpenTelemetry SDK's own floor (``make bench``).

The figure ``telemetry_floor.py`` prints on its own, as a section of the run: per call, what an
SDK adds to plain metallm against the same telemetry made by hand around a plain call (a bare
SDK span with exactly metallm's attributes, current during the request, ended and recorded
after, every record metallm makes), target at most 1.10x; per chunk, what it adds against one
``time_per_output_chunk`` record with the span's context, target at most +2 us. CPU time of
this thread over ``httpx.MockTransport`` (no socket, no server process), one metallm client
for both rows, interleaved rounds, medians; the per-call gap is also given paired by round
(the same round's two rows subtracted), with its quartiles, which is what to read on a machine
whose load moves during the run. ``telemetry_instructions.py`` gives the same gaps in
instructions, which the load does not move (not part of ``make bench``: it needs valgrind).
"""

from __future__ import annotations

from report import Section, Target, num, times
from telemetry_floor import measure

__all__ = ["CALL_TARGET", "CHUNK_TARGET", "measure_telemetry"]

CALL_TARGET = Target(1.10, "<= 1.10x the floor")
CHUNK_TARGET = Target(2.0, "<= floor + 2 us")
_BY_HAND = "metallm call, SDK by hand"


def measure_telemetry(rounds: int, calls: int, chunks: int) -> Section:
    """The per-call and per-chunk gaps of one ``telemetry_floor.measure`` run."""
    m = measure(rounds, calls, chunks)
    section = Section(
        "telemetry",
        f"5. Telemetry against the OTel SDK's own floor (thread CPU time, median of {rounds}"
        f" interleaved rounds, {calls} calls and one {chunks}-chunk stream each)",
        ["unit", "floor us", "metallm + SDK adds us", "gap us", "x floor",
         "x floor, fastest rounds", "paired gap us (quartiles)", "target", "result"],
    )
    floor, added = m.by_hand(), m.added("call")
    low, mid, high = m.paired(_BY_HAND)
    paired_ratio = (floor + mid) / floor if floor else None
    section.add(
        ["per call", num(floor), num(added), f"{added - floor:+.1f}", times(added / floor),
         times(m.min_ratio()), f"{mid:+.1f} ({low:+.1f} to {high:+.1f})", CALL_TARGET.text,
         f"{CALL_TARGET.verdict(added / floor)} (paired {CALL_TARGET.verdict(paired_ratio)})"],
        {"unit": "call", "floor_us": floor, "added_us": added, "gap_us": added - floor,
         "ratio": added / floor, "paired_gap_us": [low, mid, high],
         "paired_ratio": paired_ratio, "fastest_rounds_ratio": m.min_ratio(),
         "plain_us": m.us["metallm call"],
         "sdk_us": m.us["metallm + SDK call"]},
    )
    record, chunk_added = m.us["floor: 1 record, context="], m.added("chunk")
    section.add(
        ["per chunk", num(record, 2), num(chunk_added, 2), f"{chunk_added - record:+.2f}",
         times(chunk_added / record), "-", "-", CHUNK_TARGET.text,
         CHUNK_TARGET.verdict(chunk_added - record)],
        {"unit": "chunk", "floor_us": record, "added_us": chunk_added,
         "gap_us": chunk_added - record, "ratio": chunk_added / record,
         "record_without_context_us": m.us["floor: 1 record"]},
    )
    section.notes += [
        "Floor per call: a bare SDK span with the attributes metallm puts on a chat span"
        " (captured from a real call) and every histogram record metallm makes, with the"
        " span's context, made by hand around a plain metallm call; per chunk: one"
        " time_per_output_chunk record with the span's context (metallm's records link their"
        " exemplars to the call's span).",
        "metallm + SDK adds: OTelHook on a real SDK pair (BatchSpanProcessor over a dropping"
        " exporter, InMemoryMetricReader) minus the same client with the default hook and no"
        " SDK. In instructions, which do not move with the load: benchmarks/"
        "telemetry_instructions.py (valgrind).",
    ]
    return section
