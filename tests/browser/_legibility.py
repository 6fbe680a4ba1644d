"""What a reader sees of an output, measured in the page: fonts, contrast, images, overflow.

These checks look at the rendered result, not at our markup, so they hold whatever classes the
renderer uses: an element is found by the text it shows, its font is monospace when ``i`` and ``M``
measure the same width in it, its contrast is the WCAG ratio of its colour against the background
actually painted behind it (semi-transparent layers composited), and an element has escaped the
output area when its box leaves the area's box without an ancestor that clips or scrolls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Locator

_LOOK_JS = r"""
(root, text) => {
  // The deepest element whose text contains `text` (pygments splits code into token spans, so the
  // element holding a whole line is the one a reader reads it in).
  let best = null;
  for (const el of root.querySelectorAll('*')) {
    if (el.textContent.includes(text) && el.getClientRects().length) best = el;
  }
  if (!best) return null;
  const style = getComputedStyle(best);
  const canvas = document.createElement('canvas').getContext('2d');
  canvas.font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const narrow = canvas.measureText('iiiiiiiiii').width, wide = canvas.measureText('MMMMMMMMMM').width;
  const parse = (c) => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return [0, 0, 0, 0];
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  // The background painted behind the text: layers from the element up, composited over white.
  const layers = [];
  for (let el = best; el; el = el.parentElement) {
    const bg = parse(getComputedStyle(el).backgroundColor);
    if (bg[3] > 0) layers.push(bg);
    if (bg[3] >= 1) break;
  }
  let back = [255, 255, 255];
  for (const [r, g, b, a] of layers.reverse()) {
    back = [r * a + back[0] * (1 - a), g * a + back[1] * (1 - a), b * a + back[2] * (1 - a)];
  }
  const fg = parse(style.color);
  const front = [0, 1, 2].map(i => fg[i] * fg[3] + back[i] * (1 - fg[3]));
  const lum = (c) => {
    const [r, g, b] = c.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [hi, lo] = [lum(front), lum(back)].sort((a, b) => b - a);
  return {tag: best.tagName.toLowerCase(), fontFamily: style.fontFamily, narrow, wide,
          color: style.color, background: `rgb(${back.map(Math.round).join(', ')})`,
          contrast: (hi + 0.05) / (lo + 0.05), visible: best.getClientRects().length > 0};
}
"""

_ESCAPED_JS = r"""
(root) => {
  const area = root.getBoundingClientRect();
  const out = [];
  for (const el of root.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height) continue;
    let clipped = false;
    for (let up = el.parentElement; up && up !== root; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== 'visible') { clipped = true; break; }
    }
    if (clipped) continue;
    if (box.left < area.left - 1 || box.right > area.right + 1) {
      out.push(`${el.tagName.toLowerCase()}.${el.className} [${Math.round(box.left)}, ${Math.round(box.right)}]` +
               ` outside [${Math.round(area.left)}, ${Math.round(area.right)}]`);
    }
  }
  return out;
}
"""


@dataclass(frozen=True)
class Look:
    """How the element showing some text looks to a reader."""

    tag: str
    font_family: str
    narrow: float  # width of "iiiiiiiiii" in its font
    wide: float  # width of "MMMMMMMMMM"
    color: str
    background: str  # what is painted behind it, composited
    contrast: float  # WCAG contrast ratio, 1 to 21

    @property
    def monospace(self) -> bool:
        return abs(self.narrow - self.wide) < 0.5


def look_of(area: Locator, text: str) -> Look:
    """The look of the innermost element in ``area`` that shows ``text`` (AssertionError if none does)."""
    found: dict[str, Any] | None = area.evaluate(_LOOK_JS, text)
    if found is None:
        raise AssertionError(f"no visible element shows {text!r}")
    return Look(
        found["tag"],
        found["fontFamily"],
        found["narrow"],
        found["wide"],
        found["color"],
        found["background"],
        found["contrast"],
    )


def escaped_elements(area: Locator) -> list[str]:
    """Elements whose box leaves ``area`` sideways with nothing clipping or scrolling them."""
    return list(area.evaluate(_ESCAPED_JS))
