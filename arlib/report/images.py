"""Charts in the emailed HTML: sharp and light.

The notebooks draw at ``CHART_DPI`` (sharp on high-density screens); here each PNG is stored
with an adaptive palette (charts have few colours: about a third of the bytes, no visible
change) and shown at its design size (the figure size at 96 dpi, CSS pixels).

>>> import base64, io
>>> from PIL import Image
>>> buf = io.BytesIO(); Image.new("RGBA", (240, 120), "white").save(buf, "PNG", dpi=(120, 120))
>>> data, width = compress_png(base64.b64encode(buf.getvalue()).decode())
>>> width, Image.open(io.BytesIO(base64.b64decode(data))).mode
(192, 'P')
"""

from __future__ import annotations

import base64
import io

#: the resolution charts are drawn at (``figure.dpi`` of the theme)
CHART_DPI = 120
#: colours kept per chart (antialiased lines need more than the palette's eight)
COLOURS = 128


def compress_png(b64: str) -> tuple[str, int | None]:
    """A base64 PNG with an adaptive palette, and its display width in CSS pixels (None when
    the PNG does not say its resolution). A PNG that would not shrink is returned as it was."""
    from PIL import Image

    raw = base64.b64decode(b64)
    im = Image.open(io.BytesIO(raw))
    dpi = (im.info.get("dpi") or (None,))[0]
    width = round(im.width * 96 / dpi) if dpi else None
    small = im.convert("RGB").quantize(COLOURS, Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    small.save(out, "PNG", optimize=True)
    if out.tell() >= len(raw):
        return b64, width
    return base64.b64encode(out.getvalue()).decode(), width


def compress_outputs(nb) -> None:
    """Compress every PNG output of a notebook in place and record its display width."""
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            png = o.get("data", {}).get("image/png")
            if not png:
                continue
            o["data"]["image/png"], width = compress_png("".join(png))
            if width:
                o.setdefault("metadata", {}).setdefault("image/png", {})["width"] = width
