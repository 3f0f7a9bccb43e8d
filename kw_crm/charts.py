"""Charts as plain data for server-rendered SVG (``templates/kw_crm/_charts.html`` draws them).

No JavaScript and nothing fetched from elsewhere: the server computes every rectangle and label
here, the template writes an ``<svg role="img">`` with a title and description, a ``<title>`` per
bar for pointer users, visible value labels, and the same numbers as a table for screen readers
and for copying. Two shapes cover the CRM's pages:

- :func:`bars` - horizontal bars, one row per category, up to two overlaid series (open value
  with its weighted part, count per bucket ...);
- :func:`columns` - one column pair per day (won above the axis, lost below): the trend.

Geometry is in SVG user units inside a ``viewBox``; the SVG scales to its container's width
(the stylesheet enlarges the text on narrow screens, where the drawing is scaled down)."""
from dataclasses import dataclass, field
from datetime import date

from markupsafe import Markup, escape

WIDTH = 480  # bar charts: narrow enough that text stays legible when scaled to a phone
COLUMNS_WIDTH = 640  # the trend: room for a year of day columns
ROW_HEIGHT = 40  # a label line above each bar
BAR_HEIGHT = 14
TOP = 4
COLUMN_AREA = 90  # height of each half (won above, lost below) of a column chart


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str  # css modifier, e.g. "open" / "weighted" / "won" / "lost"
    tooltip: str


@dataclass
class Text:
    x: float
    y: float
    text: str
    anchor: str = "start"
    kind: str = "label"  # "label" (category) or "value" or "axis"


@dataclass
class Chart:
    """What the template needs: geometry, words for assistive technology, and a data table."""
    slug: str  # unique per page: ids of <title>/<desc>
    title: str
    description: str
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    lines: list[tuple[float, float, float, float]] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (series, label)
    table_head: list[str] = field(default_factory=list)
    table_rows: list[list[str]] = field(default_factory=list)

    def shapes(self) -> Markup:
        """The drawing's elements as SVG markup: axis lines, one ``rect.chart-bar`` per bar with
        its ``<title>`` tooltip, then the texts. Written here rather than in the template because
        a year of day columns is ~700 elements: string formatting is a tenth of the cost."""
        parts = [f'<line class="chart-axis" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"/>'
                 for x1, y1, x2, y2 in self.lines]
        parts += [f'<rect class="chart-bar chart-{b.series}" x="{b.x:.2f}" y="{b.y:.2f}" width="{b.width:.2f}" '
                  f'height="{b.height:.2f}"><title>{escape(b.tooltip)}</title></rect>' for b in self.bars]
        parts += [f'<text class="chart-{t.kind}" x="{t.x:.1f}" y="{t.y:.1f}" text-anchor="{t.anchor}">'
                  f'{escape(t.text)}</text>' for t in self.texts]
        return Markup("".join(parts))


def _scale(maximum: int, length: float):
    return (lambda value: 0.0) if maximum <= 0 else (lambda value: length * value / maximum)


def bars(slug: str, title: str, rows: list[dict], *, series: list[tuple[str, str]], describe,
         table_head: list[str] | None = None) -> Chart:
    """Horizontal bars, one row per category: its label and value on a line, the bar under it.
    ``rows``: ``{"label", "values": {series: number}, "texts": {series: str}}``; ``series``:
    ``[(key, legend label)]``, drawn in that order on top of each other (so the second should be
    the smaller part of the first, e.g. weighted within open). The value line shows the first
    series; every series is in the bar's tooltip and in the table. ``describe`` is the sentence
    a screen reader hears first."""
    height = TOP * 2 + max(len(rows), 1) * ROW_HEIGHT
    maximum = max((v for row in rows for v in row["values"].values()), default=0)
    length = _scale(maximum, WIDTH)
    chart = Chart(slug, title, describe, WIDTH, height, legend=list(series) if len(series) > 1 else [],
                  table_head=table_head or ["", *(label for _, label in series)])
    first = series[0][0]
    for index, row in enumerate(rows):
        y = TOP + index * ROW_HEIGHT
        chart.texts.append(Text(0, y + 14, _clip(row["label"], 22)))
        chart.texts.append(Text(WIDTH, y + 14, row["texts"].get(first, ""), "end", "value"))
        for key, label in series:
            value = row["values"].get(key, 0)
            chart.bars.append(Bar(0, y + 20, max(length(value), 1 if value else 0), BAR_HEIGHT, key,
                                  f"{row['label']}: {label} {row['texts'].get(key, str(value))}"))
        chart.table_rows.append([row["label"], *(row["texts"].get(k, "") for k, _ in series)])
    if not rows:
        chart.texts.append(Text(WIDTH / 2, TOP + ROW_HEIGHT / 2, "No data", "middle", "axis"))
    return chart


def columns(slug: str, title: str, days: list[date], up: list[int], down: list[int], *,
            up_label: str, down_label: str, describe, table_extra: list[list[str]] | None = None,
            table_extra_head: list[str] | None = None) -> Chart:
    """One column per day: ``up`` above the axis, ``down`` below it, both on the same scale,
    with date ticks under the chart. Days with a zero draw no rectangle."""
    left, right, axis_y = 44, 12, TOP + 8 + COLUMN_AREA
    height = axis_y + COLUMN_AREA + 30
    step = (COLUMNS_WIDTH - left - right) / max(len(days), 1)
    gap = step * 0.15 if step > 3 else 0
    maximum = max([*up, *down, 0])
    length = _scale(maximum, COLUMN_AREA - 4)
    chart = Chart(slug, title, describe, COLUMNS_WIDTH, height, legend=[("won", up_label), ("lost", down_label)],
                  table_head=["Date", up_label, down_label, *(table_extra_head or [])])
    for index, day in enumerate(days):
        x = left + index * step + gap / 2
        for value, series, label in ((up[index], "won", up_label), (down[index], "lost", down_label)):
            if value:
                h = max(length(value), 1)
                chart.bars.append(Bar(x, axis_y - h if series == "won" else axis_y, step - gap, h, series,
                                      f"{day.isoformat()}: {value} {label.lower()}"))
        if up[index] or down[index]:
            chart.table_rows.append([day.isoformat(), str(up[index]), str(down[index]),
                                     *((table_extra or [])[index] if table_extra else [])])
    chart.lines.append((left, axis_y, COLUMNS_WIDTH - right, axis_y))
    chart.texts.append(Text(left - 6, TOP + 10, str(maximum), "end", "axis"))
    chart.texts.append(Text(left - 6, axis_y + COLUMN_AREA, str(maximum), "end", "axis"))
    ticks = 6 if len(days) > 6 else len(days)
    for tick in range(ticks):
        index = round(tick * (len(days) - 1) / max(ticks - 1, 1))
        chart.texts.append(Text(left + (index + 0.5) * step, height - 6, days[index].strftime("%d %b"),
                                "middle", "axis"))
    return chart


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"
