"""Code that writes office files, run both here and by the stand-in's scripted model in its sandbox.

Each constant is a Python program that writes one file into ``$OUTPUT_DIR`` (or the folder given as
``OUT``) with hostile text in the places a preview shows (sheet names, cells, slide titles, headings).
"""

from __future__ import annotations

HOSTILE = "<img src=x onerror=alert(1)>"

WORKBOOK = f"""
import os
from openpyxl import Workbook
book = Workbook()
sheet = book.active
sheet.title = "Churn <b>"
sheet.append(["tier", "customers", "churn rate"])
for tier, n, rate in [("basic", 120, 0.31), ("standard", 200, 0.18), ("premium", 80, {HOSTILE!r})]:
    sheet.append([tier, n, rate])
for extra in range(40):
    sheet.append(["row", extra, 0])
other = book.create_sheet("Regions")
other.append(["region", "churn"])
other.append(["north", 0.2])
book.save(os.path.join(os.environ.get("OUT") or os.environ["OUTPUT_DIR"], "churn.xlsx"))
print("workbook written")
"""

DECK = f"""
import os
from pptx import Presentation
from pptx.util import Inches
deck = Presentation()
slide = deck.slides.add_slide(deck.slide_layouts[0])
slide.shapes.title.text = "Churn review " + {HOSTILE!r}
slide.placeholders[1].text = "Q3 findings"
slide = deck.slides.add_slide(deck.slide_layouts[1])
slide.shapes.title.text = "What drives churn"
body = slide.placeholders[1].text_frame
body.text = "Account age"
for line in ("Payment failures", "Watch hours", "<script>alert(2)</script>"):
    body.add_paragraph().text = line
deck.save(os.path.join(os.environ.get("OUT") or os.environ["OUTPUT_DIR"], "churn.pptx"))
print("deck written")
"""

DOCUMENT = f"""
import os
from docx import Document
doc = Document()
doc.add_heading("Churn report", 0)
doc.add_heading("Findings " + {HOSTILE!r}, 1)
doc.add_paragraph("New customers churn most.")
doc.add_heading("Method", 2)
doc.add_paragraph("A logistic regression.")
doc.save(os.path.join(os.environ.get("OUT") or os.environ["OUTPUT_DIR"], "report.docx"))
print("document written")
"""

PDF = """
import os
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
page = canvas.Canvas(os.path.join(os.environ.get("OUT") or os.environ["OUTPUT_DIR"], "summary.pdf"), pagesize=A4)
page.setFont("Helvetica-Bold", 28)
page.drawString(72, 760, "Churn summary")
page.showPage()
page.drawString(72, 760, "Page two")
page.save()
print("pdf written")
"""

ALL = {"churn.xlsx": WORKBOOK, "churn.pptx": DECK, "report.docx": DOCUMENT, "summary.pdf": PDF}
