"""Charts as inline SVG, drawn on the server: horizontal bars (plain, grouped or stacked) and a
line over time. Lengths across the chart are percentages of its width and heights are pixels,
so a chart fills its column at any width while its text keeps its size (readable on a phone,
crisp everywhere). Every text is XML-escaped here and the result marked safe only after;
Persian labels are plain text the browser shapes (direction="rtl", bars growing from the right).
Each bar and point carries a <title> (its tooltip and accessible name) and, when given, a link
to the people behind it (so a chart is a labelled group, not an image: its links stay reachable);
the legend is HTML (``legend``). Pure: no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count
from xml.sax.saxutils import escape, quoteattr

from markupsafe import Markup

__all__ = ["Bar", "Point", "Row", "Series", "hbars", "legend", "line"]

PAD = 1.0  # % of the width on each side
VALUE_ROOM = 26.0  # % of the width each bar row keeps after its longest bar, for its text
LABEL_SIZE = 13  # px
SMALL = 11  # px
GAP = 5  # px between a bar's end and its text
_ids = count(1)


@dataclass(frozen=True)
class Series:
    """One kind of bar (a status, a horizon): its legend text and CSS class (its colour)."""

    label: str
    css: str


@dataclass(frozen=True)
class Bar:
    """One bar or segment: its size, its tooltip and where it leads (None: nowhere)."""

    value: float
    tip: str
    href: str | None = None
    text: str = ""  # shown after a grouped bar
    css: str | None = None  # instead of its series' class


@dataclass(frozen=True)
class Row:
    """One row of bars: its label, its bars (one per series) and its value text."""

    label: str
    bars: Sequence[Bar]
    text: str = ""
    href: str | None = None


@dataclass(frozen=True)
class Point:
    """One point of a line: its x label (may be empty), value, tooltip and link."""

    label: str
    value: float
    tip: str
    href: str | None = None


def _attr(value: object) -> str:
    """An escaped, quoted attribute value."""
    return quoteattr(str(value))


def _pct(x: float) -> str:
    """A percentage of the width."""
    return f"{x:.2f}".rstrip("0").rstrip(".") + "%"


def _px(y: float) -> str:
    """A pixel length."""
    return f"{y:.1f}".rstrip("0").rstrip(".")


def _text(
    x: float, y: float, text: str, *, anchor: str, size: int, css: str = "", dx: float = 0
) -> str:
    """A text element at (x% of the width, y px), nudged ``dx`` px; its content escaped."""
    cls = f" class={_attr(css)}" if css else ""
    nudge = f" dx={_attr(_px(dx))}" if dx else ""
    return (
        f"<text x={_attr(_pct(x))} y={_attr(_px(y))}{nudge} text-anchor={_attr(anchor)}"
        f" font-size={_attr(size)}{cls}>{escape(text)}</text>"
    )


def _link(inner: str, href: str | None) -> str:
    """``inner`` inside a link when there is somewhere to go."""
    return f"<a href={_attr(href)}>{inner}</a>" if href else inner


def _rect(x: float, y: float, w: float, h: float, css: str, tip: str) -> str:
    """A bar (x and width in % of the chart's width) with its tooltip."""
    return (
        f"<rect x={_attr(_pct(x))} y={_attr(_px(y))} width={_attr(_pct(max(w, 0)))}"
        f" height={_attr(_px(h))} class={_attr(css)}><title>{escape(tip)}</title></rect>"
    )


def _svg(height: float, title: str, desc: str, rtl: bool, css: str, body: list[str]) -> Markup:
    """The whole chart: accessible title and description, then its parts."""
    uid = f"g{next(_ids)}"
    direction = ' direction="rtl"' if rtl else ""
    return Markup(
        f'<svg class={_attr("graph " + css)} width="100%" height="{_px(height)}" role="group"'
        f' aria-labelledby="{uid}t {uid}d"{direction} xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{uid}t">{escape(title)}</title><desc id="{uid}d">{escape(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def legend(series: Sequence[Series]) -> Markup:
    """The series' swatches and names as an HTML list (it wraps like text)."""
    items = "".join(
        f'<li><svg class="swatch" width="12" height="12" aria-hidden="true">'
        f'<rect width="12" height="12" class={_attr(s.css)}/></svg>{escape(s.label)}</li>'
        for s in series
    )
    return Markup(f'<ul class="legend">{items}</ul>')


def hbars(
    rows: Sequence[Row],
    series: Sequence[Series],
    *,
    title: str,
    desc: str,
    rtl: bool,
    mode: str = "stacked",
    scale: float | None = None,
) -> Markup:
    """Rows of horizontal bars: a row's bars ``stacked`` end to end (the row's text after
    them) or ``grouped`` one under another (each bar's text after it); each row's label above
    its bars. Bars grow from the reading side (the right in Persian). ``scale``: the value of
    a full bar (default: the largest)."""
    if mode not in ("stacked", "grouped"):
        raise ValueError(mode)
    grouped = mode == "grouped"
    sizes = (
        [b.value for r in rows for b in r.bars]
        if grouped
        else [sum(b.value for b in r.bars) for r in rows]
    )
    full = scale or max(sizes, default=0) or 1
    span = 100 - 2 * PAD - VALUE_ROOM
    bar_h = 11 if grouped else 14
    lead = 100 - PAD if rtl else PAD
    sign = -1 if rtl else 1
    parts: list[str] = []
    y = 0.0

    def value_text(end: float, top: float, text: str) -> None:
        """A bar's (or row's) value text just past its end."""
        if text:
            parts.append(
                _text(lead + sign * end, top + bar_h - 2, text, anchor="start", size=SMALL,
                      css="value", dx=sign * GAP)
            )  # fmt: skip

    for row in rows:
        y += 17
        parts.append(_link(_text(lead, y, row.label, anchor="start", size=LABEL_SIZE), row.href))
        y += 5
        offset = 0.0
        for i, bar in enumerate(row.bars):
            w = span * bar.value / full
            x = lead - offset - w if rtl else lead + offset
            css = bar.css or (series[i % len(series)].css if series else "bar")
            parts.append(_link(_rect(x, y, w, bar_h, css, bar.tip), bar.href))
            if grouped:
                value_text(w, y, bar.text)
                y += bar_h + 2
            else:
                offset += w
        if not grouped:
            value_text(offset, y, row.text)
            y += bar_h
        y += 8
    return _svg(y + 2, title, desc, rtl, "hbars", parts)


def line(
    points: Sequence[Point],
    *,
    title: str,
    desc: str,
    rtl: bool,
    ticks: Sequence[tuple[float, str]],
    css: str = "line",
) -> Markup:
    """A line over time with its y ticks (value, text) as grid lines and each point a dot with
    its tooltip (and link), an x label under every point that has one. Time runs in the
    reading direction: from the right in Persian, the ticks' numbers on the left there."""
    height, top, bottom = 180.0, 12.0, 146.0
    room = 9.0  # % of the width for the ticks' numbers, on the side time starts from
    first, last = (100 - PAD - room, PAD + 3) if rtl else (PAD + room, 100 - PAD - 3)
    high = max([p.value for p in points] + [t[0] for t in ticks] + [1])
    parts: list[str] = []

    def y_of(value: float) -> float:
        """The y of a value."""
        return bottom - (bottom - top) * value / high

    # the numbers end at the plot's edge: in Persian they start at the chart's right edge
    tick_x, tick_anchor = (100 - PAD, "start") if rtl else (PAD + room - 1, "end")
    for value, text in ticks:
        y = y_of(value)
        parts.append(f'<line x1="{_pct(min(first, last))}" x2="{_pct(max(first, last))}"'
                     f' y1="{_px(y)}" y2="{_px(y)}" class="grid"/>')  # fmt: skip
        parts.append(_text(tick_x, y + 4, text, anchor=tick_anchor, size=SMALL, css="tick"))
    step = (last - first) / max(len(points) - 1, 1)
    xs = [first + i * step for i in range(len(points))]
    ys = [y_of(p.value) for p in points]
    for i in range(1, len(points)):
        parts.append(f'<line x1="{_pct(xs[i - 1])}" y1="{_px(ys[i - 1])}" x2="{_pct(xs[i])}"'
                     f' y2="{_px(ys[i])}" class={_attr(css)}/>')  # fmt: skip
    for x, y, p in zip(xs, ys, points, strict=True):
        dot = (
            f'<circle cx="{_pct(x)}" cy="{_px(y)}" r="4" class={_attr(css + " dot")}>'
            f"<title>{escape(p.tip)}</title></circle>"
        )
        parts.append(_link(dot, p.href))
        if p.label:
            parts.append(_text(x, bottom + 20, p.label, anchor="middle", size=SMALL, css="axis"))
    return _svg(height, title, desc, rtl, "line", parts)
