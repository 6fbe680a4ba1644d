"""Previews of the office files Claude makes: workbook tables, deck outlines, document headings, a PDF's page.

Files are written by real openpyxl, python-pptx, python-docx and reportlab code (in the stand-in's sandbox for
the end-to-end test); every text a preview shows is untrusted, so the fixtures carry hostile markup.
"""

from __future__ import annotations

import base64
import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import office_files
from claude_magic import _render as render
from claude_magic._session import Session
from claude_magic.results import OutputFile
from claude_magic.testing import Script, StandIn

MEDIA = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".pdf": "application/pdf",
}


def write(name: str, folder: Path) -> OutputFile:
    env = {**os.environ, "OUT": str(folder)}
    subprocess.run([sys.executable, "-c", office_files.ALL[name]], env=env, check=True, capture_output=True)
    path = folder / name
    return OutputFile("file_011Test", name, MEDIA[path.suffix], path.stat().st_size, path=path)


def assert_escaped(html: str) -> None:
    assert "<img src=x" not in html and "<script>" not in html and "<b>" not in html
    assert "onerror=alert(1)&gt;" in html or "onerror=alert(1)" not in html


def test_a_workbook_shows_its_first_sheets_as_escaped_tables(tmp_path: Path) -> None:
    bundle = render.file_bundle(write("churn.xlsx", tmp_path))
    html, plain = bundle["text/html"], bundle["text/plain"]
    assert html.count('<table class="claude-magic-sheet">') == 2
    assert "Churn &lt;b&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<th" in html and ">churn rate</th>" in html and ">premium</td>" in html
    assert "first 15 rows" in html  # 44 rows written, bounded
    assert_escaped(html)
    assert plain.startswith("churn.xlsx (") and "Workbook: 2 sheets (Churn <b>, Regions)" in plain
    assert "tier | customers | churn rate" in plain


def test_a_deck_shows_slide_titles_and_an_outline(tmp_path: Path) -> None:
    bundle = render.file_bundle(write("churn.pptx", tmp_path))
    html, plain = bundle["text/html"], bundle["text/plain"]
    assert '<ol class="claude-magic-slides">' in html
    assert "<strong>Churn review &lt;img src=x onerror=alert(1)&gt;</strong>" in html
    assert "<li>Payment failures</li>" in html and "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert_escaped(html)
    assert "Deck: 2 slides" in plain and "  2. What drives churn" in plain and "     - Watch hours" in plain
    assert "     - What drives churn" not in plain and "<li>Q3 findings</li>" in html  # the title is not repeated


def test_a_document_shows_its_headings_by_level(tmp_path: Path) -> None:
    bundle = render.file_bundle(write("report.docx", tmp_path))
    html, plain = bundle["text/html"], bundle["text/plain"]
    assert '<ul class="claude-magic-headings">' in html
    assert re.search(r'margin-left: 0(\.0)?em">Churn report</li>', html)
    assert "Findings &lt;img src=x onerror=alert(1)&gt;" in html and "Method" in html
    assert_escaped(html)
    assert "- Churn report" in plain and "  - Findings" in plain and "    - Method" in plain


def test_a_pdf_shows_its_first_page_as_an_image(tmp_path: Path) -> None:
    bundle = render.file_bundle(write("summary.pdf", tmp_path))
    html = bundle["text/html"]
    match = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert match is not None
    with Image.open(io.BytesIO(base64.b64decode(match.group(1)))) as page:
        assert page.format == "PNG" and page.width == 480
        assert page.convert("L").getextrema()[0] < 100  # the title's dark pixels, not a blank page
    assert "PDF: 2 pages" in bundle["text/plain"]
    assert 'href="' in html  # the download link stays


def test_a_damaged_file_gets_a_line_and_keeps_its_link(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"<html>not a workbook</html>")
    bundle = render.file_bundle(OutputFile("file_x", "broken.xlsx", MEDIA[".xlsx"], path.stat().st_size, path=path))
    assert "No preview: openpyxl could not read the file" in bundle["text/plain"]
    assert "<html>" not in bundle["text/html"] and "download>broken.xlsx</a>" in bundle["text/html"]


def test_a_missing_library_is_named_in_one_line(tmp_path: Path) -> None:
    write("churn.pptx", tmp_path)
    code = (
        "import sys; sys.modules['pptx'] = None\n"  # as if python-pptx were not installed
        "from pathlib import Path\n"
        "from claude_magic import _render as render\n"
        "from claude_magic.results import OutputFile\n"
        f"path = Path({str(tmp_path / 'churn.pptx')!r})\n"
        "print(render.file_bundle(OutputFile('f', path.name, 'x', path.stat().st_size, path=path))['text/plain'])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == (
        "No preview: it needs python-pptx (pip install 'claude-magic[previews]')."
    )


def test_files_made_in_the_sandbox_are_previewed_in_the_turn(make_session: Any, standin: StandIn) -> None:
    steps = [{"python": code} for code in office_files.ALL.values()]
    standin.set_script(Script.from_dict({"replies": [{"steps": steps}]}))
    session: Session = make_session(tool_version="code_execution_20260120", skills="xlsx,pptx,docx,pdf")
    turn = session.run("Make the workbook, the deck, the report and the summary.")
    assert sorted(file.name for file in turn.files) == sorted(office_files.ALL)
    bundle = turn._repr_mimebundle_()
    html = bundle["text/html"]
    for marker in ("claude-magic-sheet", "claude-magic-slides", "claude-magic-headings", "data:image/png;base64"):
        assert marker in html, marker
    assert_escaped(html)
    assert "Workbook: 2 sheets" in bundle["text/plain"] and "Deck: 2 slides" in bundle["text/plain"]


@pytest.mark.parametrize("name", ["notes.txt", "data.csv", "chart.svg"])
def test_other_files_keep_only_their_link(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("a,b\n")
    bundle = render.file_bundle(OutputFile("file_x", name, "text/plain", 4, path=path))
    assert "claude-magic-preview" not in bundle["text/html"]
