"""Bar charts drawn by the server as inline SVG: no script, no style attribute (CSS classes).

A chart is one bar per hour: stacked series (counts by route, customer or outcome) or overlaid
ones (lag p50 over p95), a title, axes with units, a `<title>` per bar, and a table of the same
figures for screen readers and tests. An hour no process ran in is a gap: a hatched slot titled
"no data", "no data" in the table, never a zero.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 236           # the viewBox; the SVG scales to its box's width
LEFT, RIGHT, TOP, BOTTOM = 56, 8, 26, 34
Value = float | None


@dataclass
class Chart:
    """One chart: its figures per hour, and their SVG."""

    title: str
    unit: str
    hours: list[int]                         # each bar's hour start, epoch seconds
    alive: list[bool]                        # False: nothing ran that hour (a gap)
    series: list[tuple[str, list[Value]]]
    overlay: bool = False                    # bars drawn over each other, not stacked
    limit: float | None = None               # a horizontal line (memory's limit)
    text: Any = None                         # value -> its words (default: an integer)

    def words(self, value: Value) -> str:
        """A figure as the table and the bar titles say it."""
        if value is None:
            return "–"
        return self.text(value) if self.text else f"{value:.0f}"

    def rows(self) -> list[tuple[str, list[str]]]:
        """The table: per hour its label and each series' figure ("no data" in a gap)."""
        out = []
        for i, start in enumerate(self.hours):
            cells = ([self.words(values[i]) for _, values in self.series] if self.alive[i]
                     else ["no data"] * len(self.series))
            out.append((label(start, len(self.hours)), cells))
        return out

    def svg(self) -> Markup:
        """The chart as an `<svg>` element."""
        top = self._top()
        parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
                 f'aria-label="{escape(self.title)}" preserveAspectRatio="xMidYMid meet">',
                 f"<title>{escape(self.title)}</title>", *self._axes(top)]
        slot = (WIDTH - LEFT - RIGHT) / max(1, len(self.hours))
        for i, start in enumerate(self.hours):
            x = LEFT + i * slot
            parts += (self._bar(i, start, x, slot, top) if self.alive[i]
                      else [_gap(x, slot, label(start, len(self.hours)))])
        if self.limit:
            y = _y(self.limit, top)
            parts.append(f'<line class="limit" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" '
                         f'y2="{y:.1f}"><title>limit: {escape(self.words(self.limit))} '
                         f'{escape(self.unit)}</title></line>')
        return Markup("".join([*parts, "</svg>"]))

    def _top(self) -> float:
        """The y axis's top: the largest bar (or the limit), rounded up to a nice figure."""
        totals = [0.0]
        for i in range(len(self.hours)):
            got = [value for _, v in self.series if (value := v[i]) is not None]
            totals.append(max(got, default=0.0) if self.overlay else sum(got))
        return nice(max(max(totals), self.limit or 0.0))

    def _bar(self, i: int, start: int, x: float, slot: float, top: float) -> list[str]:
        out, base = [], 0.0
        order = list(enumerate(self.series))
        for n, (name, values) in reversed(order) if self.overlay else order:
            value = values[i]
            if value is None or value <= 0:
                continue
            low, high = (0.0, value) if self.overlay else (base, base + value)
            base = high
            y1, y2 = _y(high, top), _y(low, top)
            out.append(f'<rect class="s{n % 8}" x="{x + slot * .1:.1f}" y="{y1:.1f}" '
                       f'width="{slot * .8:.1f}" height="{max(y2 - y1, .5):.1f}"><title>'
                       f"{label(start, len(self.hours))} {escape(name)}: "
                       f"{escape(self.words(value))} {escape(self.unit)}</title></rect>")
        return out

    def _axes(self, top: float) -> list[str]:
        bottom, out = HEIGHT - BOTTOM, []
        out.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{bottom}" '
                   f'y2="{bottom}"/><line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" '
                   f'y2="{bottom}"/>')
        for tick in (0.0, top / 2, top):
            y = _y(tick, top)
            out.append(f'<text class="tick" x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">'
                       f"{tick:g}</text>")
        out.append(f'<text class="unit" x="4" y="12">{escape(self.unit)}</text>')
        step = max(1, len(self.hours) // 4)
        slot = (WIDTH - LEFT - RIGHT) / max(1, len(self.hours))
        for i in range(0, len(self.hours), step):
            out.append(f'<text class="tick" x="{LEFT + i * slot:.1f}" y="{bottom + 14}">'
                       f"{label(self.hours[i], len(self.hours))}</text>")
        out.append(f'<text class="unit" x="{WIDTH - RIGHT}" y="{HEIGHT - 4}" '
                   'text-anchor="end">hour (UTC)</text>')
        return out


def _gap(x: float, slot: float, hour: str) -> str:
    return (f'<rect class="gap" x="{x + slot * .1:.1f}" y="{TOP}" width="{slot * .8:.1f}" '
            f'height="{HEIGHT - BOTTOM - TOP}"><title>{hour}: no data (nothing ran)'
            "</title></rect>")


def _y(value: float, top: float) -> float:
    return HEIGHT - BOTTOM - (HEIGHT - BOTTOM - TOP) * (value / top if top else 0.0)


def nice(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above value (1 for nothing)."""
    if value <= 0:
        return 1.0
    power = 10 ** len(str(int(value))) / 10 if value >= 1 else 1.0
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def label(start: int, count: int) -> str:
    """An hour as a bar's label: its time, with the date on a week's chart or in a title."""
    fmt = "%H:00" if count == 24 else "%m-%d %H:00"
    return time.strftime(fmt, time.gmtime(start))
