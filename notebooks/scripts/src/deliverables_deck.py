# A short deck from the summaries the previous turn left in the REPL (python-pptx, as the pptx skill does).
import os
from pathlib import Path

from pptx import Presentation
from pptx.util import Pt

deck = Presentation()
cover = deck.slides.add_slide(deck.slide_layouts[0])
cover.shapes.title.text = "Churn review"
cover.placeholders[1].text = f"{int(by_tier.customers.sum()):,} customers"  # noqa: F821 (REPL state)


def bullets(title: str, lines: list[str]) -> None:
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = title
    body = slide.placeholders[1].text_frame
    body.text = lines[0]
    for line in lines[1:]:
        body.add_paragraph().text = line
    for paragraph in body.paragraphs:
        paragraph.font.size = Pt(20)


def rows(table) -> list[str]:  # noqa: ANN001
    return [f"{segment}: {rate:.1%} of {count:,} churned" for segment, count, rate in table.itertuples(index=False)]


bullets("Churn by subscription tier", rows(by_tier))  # noqa: F821
bullets("Churn by region", rows(by_region))  # noqa: F821
bullets("Next steps", ["Win back new basic-tier customers first", "Fix failed payments before they churn"])
deck.save(Path(os.environ["OUTPUT_DIR"]) / "churn_review.pptx")
print(f"{len(deck.slides)} slides")
