"""PNG charts for staff reports, drawn off-screen with matplotlib's Agg renderer.

Persian is given to matplotlib as written (logical order): from 3.11 on, matplotlib lays text
out with libraqm (HarfBuzz shaping and the bidi algorithm), joining letters, running them right
to left and mirroring brackets. 3.10's older path flipped brackets, so 3.11 is required.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from bot.core.jalali import format_date
from bot.core.text import localize_digits
from bot.repo.reports import STATUSES
from bot.staffdesk.reports import Stats, StatusRow, label
from bot.staffdesk.roster_text import SurvivalPanel

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
#: The survival panel's two series: among those who answered, and over the whole list.
_RATE_COLOURS = ("#90caf9", "#1565c0")


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


def _survival_panel(fig: Any, panel: SurvivalPanel, lang: str) -> None:
    """Two bars per horizon: operating among those who answered, and over the whole list."""
    ax = fig.add_subplot()
    font = {"family": CHART_FONT}
    rtl = lang == "fa"
    positions = list(range(len(panel.horizons)))
    series = ((panel.answered_label, panel.answered, -0.2), (panel.listed_label, panel.listed, 0.2))
    for (name, rates, shift), colour in zip(series, _RATE_COLOURS, strict=True):
        values = [100 * r if r is not None else 0 for r in rates]
        bars = ax.barh(
            [p + shift for p in positions], values, height=0.38, color=colour, label=name
        )
        texts = [
            localize_digits(f"{v:.0f}", lang) + ("٪" if rtl else "%") if r is not None else "–"
            for v, r in zip(values, rates, strict=True)
        ]
        ax.bar_label(bars, texts, padding=3, fontfamily=CHART_FONT, fontsize=9)
    ticks = [f"{h}\n{note}" for h, note in zip(panel.horizons, panel.notes, strict=True)]
    ax.set_yticks(positions, ticks, fontdict={**font, "size": 9})
    ax.invert_yaxis()
    ax.set_xlim(0, 112)
    ax.xaxis.set_major_formatter(_digits(lang))
    for tick in ax.get_xticklabels():
        tick.set_fontfamily(CHART_FONT)
    if rtl:
        ax.invert_xaxis()
        ax.yaxis.tick_right()
    ax.set_xlabel(panel.axis, fontdict=font)
    ax.set_title(panel.title, fontdict={**font, "size": 12})
    fig.legend(
        loc="outside lower center",
        ncols=2,
        frameon=False,
        prop={"family": CHART_FONT, "size": 9},
        reverse=rtl,
    )
    ax.spines[["top", "left" if rtl else "right"]].set_visible(False)


def render_status_chart(stats: Stats, lang: str, survival: SurvivalPanel | None = None) -> bytes:
    """A stacked horizontal bar per field of latest check-in statuses, as PNG bytes; with a
    roster, a second panel below shows both survival rates over the list at each horizon."""
    height = 2.0 + 0.6 * max(len(_rows(stats)), 1)
    extra = 1.8 + 0.8 * len(survival.horizons) if survival is not None else 0.0
    fig = Figure(figsize=(9, height + extra), dpi=120, layout="constrained")
    if survival is None:
        _status_panel(fig, stats, lang)
    else:
        top, bottom = fig.subfigures(2, 1, height_ratios=[height, extra])
        _status_panel(top, stats, lang)
        _survival_panel(bottom, survival, lang)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _status_panel(fig: Any, stats: Stats, lang: str) -> None:
    """The stacked bars of latest check-in statuses per field, on a figure or subfigure."""
    rows = _rows(stats)
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
