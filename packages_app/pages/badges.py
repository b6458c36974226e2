"""Shields-style flat badges (SVG) and shields.io "endpoint" JSON for download counts.

The SVG is static markup: no script, no style element, no external reference, every
text escaped, so it is safe under the site's CSP and when embedded anywhere. Widths
come from a table of Verdana 11px advance widths (what shields.io measures with),
so labels and values fit without a font on the server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from xml.sax.saxutils import escape

PERIODS = ("day", "week", "month", "total")
COLOR_OK = "#007ec6"  # shields' "blue"
COLOR_NOT_FOUND = "#9f9f9f"  # shields' "lightgrey"
LABEL_COLOR = "#555"

# Advance widths of Verdana at 11px, in pixels, for the characters a badge can hold;
# anything else counts as a wide glyph.
_WIDTHS: dict[str, float] = {
    " ": 3.87, "/": 4.67, "-": 4.76, ".": 3.87, ",": 3.87, "_": 7.0, "%": 12.02, "+": 9.21,
    "0": 7.0, "1": 7.0, "2": 7.0, "3": 7.0, "4": 7.0, "5": 7.0, "6": 7.0, "7": 7.0, "8": 7.0,
    "9": 7.0,
    "a": 6.61, "b": 6.85, "c": 5.73, "d": 6.85, "e": 6.55, "f": 3.87, "g": 6.85, "h": 6.96,
    "i": 3.02, "j": 3.79, "k": 6.51, "l": 3.02, "m": 10.71, "n": 6.96, "o": 6.68, "p": 6.85,
    "q": 6.85, "r": 4.69, "s": 5.73, "t": 4.33, "u": 6.96, "v": 6.51, "w": 9.0, "x": 6.51,
    "y": 6.51, "z": 5.78,
    "A": 7.52, "B": 7.54, "C": 7.68, "D": 8.48, "E": 6.96, "F": 6.32, "G": 8.53, "H": 8.27,
    "I": 4.61, "J": 5.0, "K": 7.62, "L": 6.12, "M": 9.27, "N": 8.23, "O": 8.66, "P": 6.63,
    "Q": 8.66, "R": 7.65, "S": 7.52, "T": 6.78, "U": 8.05, "V": 7.52, "W": 10.88, "X": 7.54,
    "Y": 6.77, "Z": 7.54,
}  # fmt: skip
_DEFAULT_WIDTH = 7.5
PADDING = 10  # 5px either side, as shields does


def text_width(text: str) -> float:
    return sum(_WIDTHS.get(ch, _DEFAULT_WIDTH) for ch in text)


def human_count(value: int) -> str:
    """999, 34k, 1.2M, 3.4B: shields' metric style (one decimal below 10, none above)."""
    if value < 0:
        raise ValueError("a download count is never negative")
    units = ((10**9, "B"), (10**6, "M"), (10**3, "k"))
    for i, (threshold, suffix) in enumerate(units):
        if value >= threshold:
            scaled = value / threshold
            text = f"{scaled:.1f}" if scaled < 10 else f"{scaled:.0f}"
            text = text.removesuffix(".0")
            if text == "1000" and i > 0:  # 999_950 reads as 1M, not 1000k
                return f"1{units[i - 1][1]}"
            return f"{text}{suffix}"
    return str(value)


def label_for(period: str) -> str:
    return "downloads" if period == "total" else f"downloads/{period}"


@dataclass(frozen=True)
class Badge:
    label: str
    message: str
    color: str
    # Where the number comes from, in the tooltip (the SVG's title) after "label: message":
    # the total badge names its dates and sources.
    note: str = ""

    def endpoint_json(self) -> dict[str, object]:
        """shields.io's endpoint schema: https://shields.io/badges/endpoint-badge"""
        return {
            "schemaVersion": 1,
            "label": self.label,
            "message": self.message,
            "color": self.color.lstrip("#"),
        }

    def svg(self) -> str:
        label_w = round(text_width(self.label) + PADDING)
        message_w = round(text_width(self.message) + PADDING)
        total = label_w + message_w
        label = escape(self.label)
        message = escape(self.message)
        note = f" ({self.note})" if self.note else ""
        title = escape(f"{self.label}: {self.message}{note}", {'"': "&quot;"})
        color = escape(self.color, {'"': "&quot;"})
        # Text is drawn at 10x and scaled down, as shields does, for crisp hinting.
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" '
            f'role="img" aria-label="{title}">'
            f"<title>{title}</title>"
            '<linearGradient id="s" x2="0" y2="100%">'
            '<stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
            '<stop offset="1" stop-opacity=".1"/></linearGradient>'
            f'<clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath>'
            '<g clip-path="url(#r)">'
            f'<rect width="{label_w}" height="20" fill="{LABEL_COLOR}"/>'
            f'<rect x="{label_w}" width="{message_w}" height="20" fill="{color}"/>'
            f'<rect width="{total}" height="20" fill="url(#s)"/></g>'
            '<g fill="#fff" text-anchor="middle" '
            'font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
            'text-rendering="geometricPrecision" font-size="110">'
            f'<text aria-hidden="true" x="{label_w * 5}" y="150" fill="#010101" '
            f'fill-opacity=".3" transform="scale(.1)">{label}</text>'
            f'<text x="{label_w * 5}" y="140" transform="scale(.1)">{label}</text>'
            f'<text aria-hidden="true" x="{label_w * 10 + message_w * 5}" y="150" '
            f'fill="#010101" fill-opacity=".3" transform="scale(.1)">{message}</text>'
            f'<text x="{label_w * 10 + message_w * 5}" y="140" transform="scale(.1)">{message}</text>'
            "</g></svg>"
        )


def downloads_badge(period: str, value: int | None, *, note: str = "") -> Badge:
    message = "no data" if value is None else human_count(value)
    return Badge(label_for(period), message, COLOR_OK, note)


def not_found_badge(period: str) -> Badge:
    return Badge(label_for(period), "package not found", COLOR_NOT_FOUND)


@dataclass(frozen=True)
class Snippet:
    """One badge as a README takes it, in each markup people paste into."""

    period: str
    url: str  # the SVG, absolute
    markdown: str
    html: str
    rst: str


def snippets(*, svg_url: Callable[[str], str], page_url: str) -> list[Snippet]:
    """Markdown, HTML and reStructuredText for each period's badge, linking to the page.

    `svg_url(period)` gives a badge's absolute URL. The HTML is escaped once here: the
    template shows it as text (escaping it again), so the copied text is valid HTML.
    """
    out: list[Snippet] = []
    for period in PERIODS:
        url = svg_url(period)
        alt = label_for(period)
        out.append(
            Snippet(
                period=period,
                url=url,
                markdown=f"[![{alt}]({url})]({page_url})",
                html=(
                    f'<a href="{escape(page_url, {chr(34): "&quot;"})}">'
                    f'<img src="{escape(url, {chr(34): "&quot;"})}" alt="{escape(alt)}"></a>'
                ),
                rst=f".. image:: {url}\n   :target: {page_url}\n   :alt: {alt}",
            )
        )
    return out
