# Image processing with Pillow: the uploaded picture, its grayscale version and an edge map, side by
# side in one PNG, plus a few numbers about the image.
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

INPUT_DIR = Path(os.environ.get("INPUT_DIR", "."))
OUTPUT_DIR = Path(os.environ.get("OUTPUT_DIR", "."))
PANEL_WIDTH = 420

images = sorted(p for p in INPUT_DIR.iterdir() if p.suffix.lower() in {".png", ".jpg", ".jpeg", ".webp"})
if not images:
    raise FileNotFoundError(f"No image (.png, .jpg, .webp) in {INPUT_DIR}")
path = images[0]
original = Image.open(path).convert("RGB")
print(
    f"{path.name}: {original.width} x {original.height} px, mode {Image.open(path).mode}, "
    f"{path.stat().st_size / 1024:.0f} KB"
)

# Grayscale, then a light blur so sensor grain does not show up as edges, then an edge filter.
gray = ImageOps.grayscale(original)
edges = gray.filter(ImageFilter.GaussianBlur(radius=1.5)).filter(ImageFilter.FIND_EDGES)
edges = ImageOps.autocontrast(edges, cutoff=1)

pixels = np.asarray(gray, dtype=float)
edge_pixels = np.asarray(edges) > 64
print(
    f"Mean brightness {pixels.mean():.1f} / 255 (std {pixels.std():.1f}); "
    f"top half {pixels[: len(pixels) // 2].mean():.1f}, bottom half {pixels[len(pixels) // 2 :].mean():.1f}"
)
print(f"Edge pixels: {edge_pixels.mean():.1%} of the image")
r, g, b = (np.asarray(original, dtype=float)[..., i].mean() for i in range(3))
print(f"Mean colour: R {r:.0f}, G {g:.0f}, B {b:.0f}")

# Side by side, each panel scaled to the same width, with a caption above it.
scale = PANEL_WIDTH / original.width
size = (PANEL_WIDTH, round(original.height * scale))
panels = [
    ("Original", original),
    ("Grayscale", gray.convert("RGB")),
    ("Edges (blur + FIND_EDGES)", edges.convert("RGB")),
]
caption, gap = 30, 10
sheet = Image.new("RGB", (len(panels) * (size[0] + gap) + gap, size[1] + caption + gap), "white")
draw = ImageDraw.Draw(sheet)
font = ImageFont.load_default(size=16)
for i, (title, image) in enumerate(panels):
    x = gap + i * (size[0] + gap)
    sheet.paste(image.resize(size, Image.Resampling.LANCZOS), (x, caption))
    draw.text((x, 6), title, fill="black", font=font)
sheet.save(OUTPUT_DIR / "image_edges.png")
print(f"Saved image_edges.png ({sheet.width} x {sheet.height} px)")
