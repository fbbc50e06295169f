"""PNG charts for staff reports, drawn off-screen with matplotlib's Agg renderer.

Persian is given to matplotlib as written (logical order): from 3.11 on, matplotlib lays text
out with libraqm (HarfBuzz shaping and the bidi algorithm), joining letters, running them right
to left and mirroring brackets. 3.10's older path flipped brackets, so 3.11 is required.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from bot.core.jalali import format_date
from bot.core.text import localize_digits
from bot.repo.reports import STATUSES
from bot.staffdesk.reports import Stats, StatusRow, label

__all__ = ["CHART_FONT", "chart_font_path", "render_status_chart"]

#: Bundled with matplotlib; covers Arabic presentation forms, Persian letters and digits.
CHART_FONT = "DejaVu Sans"
_COLOURS: dict[str, str] = {
    "operating": "#2e7d32",
    "problems": "#f9a825",
    "paused": "#78909c",
    "closed": "#c62828",
    "no_answer": "#bdbdbd",
}


def chart_font_path() -> str:
    """The font file used for charts; raises ValueError when it is not installed."""
    props = font_manager.FontProperties(family=CHART_FONT)
    return str(font_manager.findfont(props, fallback_to_default=False))


def _digits(lang: str) -> FuncFormatter:
    """Axis tick labels as whole numbers, in Persian digits for Persian."""
    return FuncFormatter(lambda value, _pos: localize_digits(f"{value:.0f}", lang))


def _rows(stats: Stats) -> Sequence[StatusRow]:
    """Fields to draw (those with an answer), top of the chart first."""
    return [row for row in stats.status_by_field if row.answered]


def render_status_chart(stats: Stats, lang: str) -> bytes:
    """A stacked horizontal bar per field of latest check-in statuses, as PNG bytes."""
    rows = _rows(stats)
    height = 2.0 + 0.6 * max(len(rows), 1)
    fig = Figure(figsize=(9, height), dpi=120, layout="constrained")
    ax = fig.add_subplot()
    font = {"family": CHART_FONT}
    rtl = lang == "fa"
    names = [row.label.get(lang) for row in rows]
    positions = list(range(len(rows)))
    left = [0] * len(rows)
    for status in STATUSES:
        values = [row.get(status) for row in rows]
        ax.barh(
            positions,
            values,
            left=left,
            color=_COLOURS[status],
            label=label(lang, f"status.{status}"),
            height=0.6,
        )
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_yticks(positions, names, fontdict=font)
    ax.invert_yaxis()
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(_digits(lang))
    for tick in ax.get_xticklabels():
        tick.set_fontfamily(CHART_FONT)
    if rtl:
        ax.invert_xaxis()
        ax.yaxis.tick_right()
    if not rows:
        ax.set_yticks([])
        ax.text(
            0.5,
            0.5,
            label(lang, "chart_empty"),
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontdict=font,
        )
    else:
        fig.legend(
            loc="outside lower center",
            ncols=len(STATUSES),
            frameon=False,
            prop={"family": CHART_FONT, "size": 9},
            reverse=rtl,
        )
    ax.set_xlabel(label(lang, "chart_axis"), fontdict=font)
    title = f"{label(lang, 'chart_title')} — {format_date(stats.generated_at, lang)}"
    ax.set_title(title, fontdict={**font, "size": 13})
    ax.spines[["top", "left" if rtl else "right"]].set_visible(False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
