"""The one table ``make bench`` ends with: the floor, metallm's figures and the ratios.

Built from the sections the run measured (nothing is measured again here): for each figure,
the floor it is compared with (raw httpx, or for the import the DESIGN baseline
``import httpx, pydantic, opentelemetry.trace``), plain metallm, metallm on a real OTel SDK,
and each metallm figure's ratio to the floor, with the issue 14 / DESIGN.md section 9 target.
The Markdown form of this table is what README.md's Benchmarks section shows.
"""

from __future__ import annotations

from typing import Any

from contenders import BASELINE
from report import Section, num, ratio, times

__all__ = ["PLAIN", "WITH_SDK", "summarize", "to_ms"]

PLAIN = "metallm"
WITH_SDK = "metallm + OTel SDK"


def _rows(sections: list[Section], key: str, field: str = "contender") -> dict[str, dict[str, Any]]:
    for section in sections:
        if section.key == key:
            return {str(row.get(field)): row for row in section.data if "unavailable" not in row}
    return {}


def _value(rows: dict[str, dict[str, Any]], name: str, field: str) -> float | None:
    value = rows.get(name, {}).get(field)
    return float(value) if isinstance(value, int | float) else None


def to_ms(seconds: float | None) -> float | None:
    """Seconds as milliseconds (``None`` stays ``None``)."""
    return None if seconds is None else seconds * 1000


def _pair(value: float | None, floor: float | None, digits: int, over: bool) -> str:
    """``value (ratio)``; with ``over``, the figure above the floor (``+12.3``)."""
    if value is None:
        return "-"
    shown = num(value - floor, digits) if over and floor is not None else num(value, digits)
    if over and floor is not None and value >= floor:
        shown = "+" + shown
    return f"{shown} ({times(ratio(value, floor))})"


def summarize(sections: list[Section]) -> Section | None:
    """The summary section, or ``None`` when the run measured none of its figures."""
    section = Section(
        "summary",
        "Summary: the floor, metallm and the ratios (this run)",
        ["figure", "floor", "metallm", "metallm + OTel SDK", "target (metallm)"],
    )
    imports = _rows(sections, "import", "row")
    if imports:
        floor = _value(imports, "DESIGN baseline", "import_ms")
        section.add(
            ["import ms (floor: httpx, pydantic, opentelemetry.trace)", num(floor),
             _pair(_value(imports, PLAIN, "import_ms"), floor, 1, False),
             _pair(_value(imports, WITH_SDK, "import_ms"), floor, 1, False), "<= 1.5x"],
            {"figure": "import_ms", "floor": floor},
        )
        over = _value(imports, "metallm first Client(openai)", "first_client_ms_over_import")
        section.add(
            ["first Client(openai), ms over import metallm", "-",
             "-" if over is None else f"{over:+.1f}", "-", "<= +30 ms"],
            {"figure": "first_client_ms", "metallm": over},
        )
        cold = _value(imports, "metallm cold start: first call", "import_ms")
        section.add(
            ["cold start: import, client, first call, ms (floor: the import floor)",
             num(floor), _pair(cold, floor, 1, False), "-", "-"],
            {"figure": "cold_start_ms", "floor": floor, "metallm": cold},
        )
        rss_floor = _value(imports, BASELINE, "rss_mb")
        section.add(
            ["RSS MB after import (floor: httpx)", num(rss_floor),
             _pair(_value(imports, PLAIN, "rss_mb"), rss_floor, 1, False), "-", "<= 40 MB"],
            {"figure": "rss_mb", "floor": rss_floor},
        )
    calls = _rows(sections, "call")
    if calls:
        floor = _value(calls, BASELINE, "us_per_call")
        section.add(
            ["non-stream call, us (above the floor)", num(floor),
             _pair(_value(calls, PLAIN, "us_per_call"), floor, 1, True),
             _pair(_value(calls, WITH_SDK, "us_per_call"), floor, 1, True), "<= +60 us"],
            {"figure": "us_per_call", "floor": floor},
        )
    streams = _rows(sections, "stream")
    if streams:
        floor = _value(streams, BASELINE, "us_per_chunk")
        section.add(
            ["stream, us per chunk (above the floor)", num(floor, 2),
             _pair(_value(streams, PLAIN, "us_per_chunk"), floor, 2, True),
             _pair(_value(streams, WITH_SDK, "us_per_chunk"), floor, 2, True), "<= +5 us"],
            {"figure": "us_per_chunk", "floor": floor},
        )
        floor = _value(streams, BASELINE, "ttfc_ms_median")
        section.add(
            ["time to first chunk, ms", num(floor, 2),
             _pair(_value(streams, PLAIN, "ttfc_ms_median"), floor, 2, False),
             _pair(_value(streams, WITH_SDK, "ttfc_ms_median"), floor, 2, False), "-"],
            {"figure": "ttfc_ms", "floor": floor},
        )
    concurrent = _rows(sections, "concurrent")
    if concurrent:
        floor = _value(concurrent, BASELINE, "seconds_median")
        section.add(
            ["concurrent async streams, wall ms", num(to_ms(floor)),
             _pair(to_ms(_value(concurrent, PLAIN, "seconds_median")), to_ms(floor), 0, False),
             _pair(to_ms(_value(concurrent, WITH_SDK, "seconds_median")), to_ms(floor), 0,
                   False), "<= 1.3x"],
            {"figure": "concurrent_ms", "floor": to_ms(floor)},
        )
    telemetry = _rows(sections, "telemetry", "unit")
    if telemetry:
        call = telemetry.get("call", {})
        floor, added = call.get("floor_us"), call.get("added_us")
        section.add(
            ["OTel per call, us the SDK adds (floor: the same telemetry by hand)", num(floor),
             "-", _pair(added, floor, 1, False), "<= 1.10x"],
            {"figure": "otel_call_us", "floor": floor, "metallm_sdk": added},
        )
        chunk = telemetry.get("chunk", {})
        floor, added = chunk.get("floor_us"), chunk.get("added_us")
        section.add(
            ["OTel per chunk, us the SDK adds (floor: one record)", num(floor, 2), "-",
             _pair(added, floor, 2, True), "<= +2 us"],
            {"figure": "otel_chunk_us", "floor": floor, "metallm_sdk": added},
        )
    if not section.rows:
        return None
    section.notes.append(
        "Floor: raw httpx (httpx + json.loads) against the same fake server in the same run;"
        " ratios are metallm / floor. The CPU-only figures without sockets, per wire format,"
        " come from benchmarks/offline_ab.py and benchmarks/offline_wires.py (not part of"
        " make bench; see benchmarks/README.md). The OTel rows' floor is the SDK's own work"
        " (figure 5), and their metallm + SDK column what the SDK adds to plain metallm."
    )
    return section
