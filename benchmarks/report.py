"""Results: one :class:`Section` per figure, printed as text and saved as JSON and Markdown.

A section holds the printed table (``columns`` and formatted ``rows``), the raw numbers behind
it (``data``, one dict per row, for ``results.json``) and notes printed under it. The Markdown
file has the same tables, ready to paste into README.md.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "NOT_INSTALLED",
    "Section",
    "Target",
    "failure",
    "num",
    "ratio",
    "render_markdown",
    "render_text",
    "times",
    "write_results",
]

NOT_INSTALLED = "not installed"


@dataclass(frozen=True)
class Target:
    """A DESIGN.md section 9 target: ``value <= limit`` passes."""

    limit: float
    text: str

    def verdict(self, value: float | None) -> str:
        """``PASS`` or ``MISS`` (a missing value misses)."""
        if value is None or math.isnan(value):
            return "MISS"
        return "PASS" if value <= self.limit else "MISS"


@dataclass
class Section:
    """One figure's table, its raw data and its notes."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    data: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, cells: list[str], data: dict[str, Any]) -> None:
        """Append a printed row and the numbers behind it."""
        if len(cells) != len(self.columns):
            raise ValueError(f"{self.key}: {len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(cells)
        self.data.append(data)

    def unavailable(self, name: str, reason: str) -> None:
        """A row for a contender that could not run (``not installed``, or its error)."""
        cells = [name, reason, *["-"] * (len(self.columns) - 2)]
        self.add(cells, {"contender": name, "unavailable": reason})


def failure(exc: BaseException, prefix: str = "error") -> str:
    """A contender's error, short enough for a table cell (``prefix: Type: message``)."""
    text = f"{prefix}: {type(exc).__name__}: {exc}".replace("\n", " ")
    return text if len(text) <= 160 else text[:157] + "..."


def num(value: float | None, digits: int = 1) -> str:
    """A figure with thousands separators, or ``-`` when there is none."""
    if value is None or math.isnan(value):
        return "-"
    return f"{value:,.{digits}f}"


def ratio(value: float | None, base: float | None) -> float | None:
    """``value / base``, or ``None`` when either is missing or ``base`` is not positive."""
    if value is None or base is None or base <= 0:
        return None
    return value / base


def times(value: float | None) -> str:
    """A ratio printed as ``1.23x`` (``-`` when missing)."""
    return "-" if value is None else f"{value:.2f}x"


_NUMERIC = re.compile(r"^[-+]?[\d,.]*x?$|^-$|^$")


def _numeric_columns(section: Section) -> list[bool]:
    """Which columns hold only figures (right-aligned); the others are text (left-aligned)."""
    return [
        index > 0 and all(_NUMERIC.match(row[index]) for row in section.rows)
        for index in range(len(section.columns))
    ]


def render_text(sections: list[Section], header: list[str]) -> str:
    """Fixed-width tables, one per section, with the notes under each."""
    out = [*header, ""]
    for section in sections:
        widths = [len(c) for c in section.columns]
        for row in section.rows:
            widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
        numeric = _numeric_columns(section)

        def line(cells: list[str], widths: list[int] = widths,
                 numeric: list[bool] = numeric) -> str:
            padded = [
                cell.rjust(width) if right else cell.ljust(width)
                for cell, width, right in zip(cells, widths, numeric, strict=True)
            ]
            return "  ".join(padded).rstrip()

        out += [section.title, "=" * len(section.title), line(section.columns)]
        out.append("  ".join("-" * w for w in widths))
        out += [line(row) for row in section.rows]
        out += [f"  * {note}" for note in section.notes]
        out.append("")
    return "\n".join(out)


def render_markdown(sections: list[Section], header: list[str]) -> str:
    """The same tables in Markdown (numbers right-aligned)."""
    out = ["## Benchmark results", "", *(f"{h}  " for h in header),
           "Produced by `make bench` (`benchmarks/run.py`).", ""]
    for section in sections:
        out += [f"### {section.title}", ""]
        out.append("| " + " | ".join(section.columns) + " |")
        out.append("|" + "|".join("---:" if right else "---"
                                  for right in _numeric_columns(section)) + "|")
        out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"
                for row in section.rows]
        if section.notes:
            out.append("")
            out += [f"- {note}" for note in section.notes]
        out.append("")
    return "\n".join(out)


def write_results(
    folder: Path, sections: list[Section], header: list[str], meta: dict[str, Any]
) -> tuple[Path, Path]:
    """Write ``results.json`` and ``results.md`` into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    json_path, md_path = folder / "results.json", folder / "results.md"
    payload = {"meta": meta, "sections": [asdict(s) for s in sections]}
    json_path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    md_path.write_text(render_markdown(sections, header) + "\n", encoding="utf-8")
    return json_path, md_path
