"""The transfer experiment's report: a Markdown table and a hand-written SVG line chart."""

import html
import math
import os

from sid_tf2.atomic import write_text

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")


def _ticks(low, high, count=5):
    """Round tick values covering [low, high]."""
    if high <= low:
        high = low + 1.0
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = min((m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw), default=raw)
    first = math.floor(low / step) * step
    ticks, value = [round(first, 10)], first
    while ticks[-1] < high - step * 1e-9:  # the last tick is at or above `high`
        value += step
        ticks.append(round(value, 10))
    return ticks


def line_chart_svg(series, *, title, x_label, y_label, width=720, height=400):
    """An SVG line chart of `series`: [(label, [(x, y), ...])], points drawn as dots."""
    left, right, top, bottom = 64, 190, 36, 52
    points = [point for _, values in series for point in values]
    if not points:
        points = [(0.0, 0.0), (1.0, 1.0)]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x_ticks, y_ticks = _ticks(min(0.0, min(xs)), max(xs)), _ticks(min(ys), max(ys))
    x0, x1, y0, y1 = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(x):
        return left + (x - x0) / ((x1 - x0) or 1.0) * plot_w

    def sy(y):
        return top + plot_h - (y - y0) / ((y1 - y0) or 1.0) * plot_h

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="20" font-size="14" font-weight="bold">{html.escape(title)}</text>']
    for tick in x_ticks:
        out.append(f'<line x1="{sx(tick):.1f}" y1="{top}" x2="{sx(tick):.1f}" y2="{top + plot_h}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{sx(tick):.1f}" y="{top + plot_h + 16}" text-anchor="middle">{tick:g}</text>')
    for tick in y_ticks:
        out.append(f'<line x1="{left}" y1="{sy(tick):.1f}" x2="{left + plot_w}" y2="{sy(tick):.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{left - 6}" y="{sy(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#444"/>')
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 12}" text-anchor="middle">'
               f'{html.escape(x_label)}</text>')
    out.append(f'<text transform="translate(16 {top + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle">'
               f'{html.escape(y_label)}</text>')
    for index, (label, values) in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        if values:
            path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in values)
            out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
            out += [f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{colour}"/>' for x, y in values]
        legend_y = top + 14 + 20 * index
        out.append(f'<line x1="{left + plot_w + 12}" y1="{legend_y - 4}" x2="{left + plot_w + 32}" '
                   f'y2="{legend_y - 4}" stroke="{colour}" stroke-width="3"/>')
        out.append(f'<text x="{left + plot_w + 38}" y="{legend_y}">{html.escape(label)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def write_report(path, *, title, sections, plot_svg=None):
    """Write the Markdown report (and the plot beside it, `<report stem>_val_psnr.svg`)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    parts = [f"# {title}", ""]
    plot_path = None
    if plot_svg is not None:
        plot_path = os.path.splitext(os.path.abspath(path))[0] + "_val_psnr.svg"
        write_text(plot_path, plot_svg)
    for heading, body in sections:
        if heading:
            parts += [f"## {heading}", ""]
        body = body.replace("{PLOT}", os.path.basename(plot_path) if plot_path else "")
        parts += [body.rstrip(), ""]
    write_text(path, "\n".join(parts))
    return path, plot_path
