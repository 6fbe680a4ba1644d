"""Hostile output in a real browser: nothing Claude, its code or a file name says may run as script.

JupyterLab trusts the outputs of cells run in the session and renders their HTML unsanitised
(scripts included), so our escaping is the only defence. The stand-in's script carries script and
``onerror`` payloads in Claude's text, in stdout, in stderr and in output file names; the page must
show them as text, raise no dialog, set no ``window.__pwned``, log no trace of them, and never
request the ``x`` an ``<img src=x>`` would load.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from harness import Artifacts, JupyterLabServer, LabPage

from claude_magic.testing import Script, StandIn

if TYPE_CHECKING:
    from playwright.sync_api import FilePayload

pytestmark = pytest.mark.browser

SCRIPT_TAG = "<script>window.__pwned=1;alert(1)</script>"
IMG_TAG = '<img src=x onerror="window.__pwned=1;alert(1)">'
PROSE = (
    f"Here it is: {SCRIPT_TAG} and {IMG_TAG}\n\n"
    "[a link](javascript:window.__pwned=1) ![a picture](x) <svg onload=window.__pwned=1>"
)
HOSTILE_CODE = f"""
import os, struct, sys, zlib
print({SCRIPT_TAG!r})
print({IMG_TAG!r})
print({SCRIPT_TAG!r}, file=sys.stderr)
print({IMG_TAG!r}, file=sys.stderr)
out = os.environ["OUTPUT_DIR"]
open(os.path.join(out, {IMG_TAG!r} + ".txt"), "w").write({SCRIPT_TAG!r})
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
rows = b"".join(b"\\x00" + b"\\xff\\x00\\x00" * 8 for _ in range(8))
png = (b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
open(os.path.join(out, {IMG_TAG!r} + ".png"), "wb").write(png)
"""
# What our downloads make of the hostile output names: < > " become _, the rest stays.
SAFE_NAME = "_img src=x onerror=_window.__pwned=1;alert(1)__"


def watch_requests(lab: LabPage) -> list[str]:
    """Every URL the page requests from now on (an <img src=x> that got through would request .../x)."""
    urls: list[str] = []
    lab.page.on("request", lambda request: urls.append(request.url))
    return urls


def assert_inert(lab: LabPage, urls: list[str]) -> None:
    """No sign anywhere that a payload ran or became an element."""
    assert lab.page.evaluate("() => typeof window.__pwned") == "undefined"
    assert not lab.js_dialogs, lab.js_dialogs
    assert not lab.page_errors, lab.page_errors
    traces = [line for line in lab.console if "pwned" in line or "alert" in line]
    assert not traces, traces
    loads = [url for url in urls if urlsplit(url).path.rstrip("/").endswith("/x")]
    assert not loads, loads
    notebook = lab.notebook
    assert notebook.locator('.jp-OutputArea img[src="x"]').count() == 0
    assert notebook.locator(".jp-OutputArea script").count() == 0
    assert notebook.locator(".jp-OutputArea svg[onload]").count() == 0
    assert notebook.locator(".jp-OutputArea [onerror]").count() == 0
    assert notebook.locator('.jp-OutputArea a[href^="javascript:"]').count() == 0


def assert_turn_shows_payloads_as_text(lab: LabPage, cell: int, prose_selector: str) -> None:
    prose = lab.output(cell, prose_selector).first.inner_text()
    assert SCRIPT_TAG in prose and IMG_TAG in prose, prose
    for stream in ("stdout", "stderr"):
        shown = lab.output(cell, f"pre.claude-magic-{stream}").first.inner_text()
        assert SCRIPT_TAG in shown and IMG_TAG in shown, (stream, shown)
    link = lab.output(cell, ".claude-magic-file a").first
    assert link.inner_text() == f"{SAFE_NAME}.txt"
    assert not (link.get_attribute("href") or "").lower().startswith(("javascript:", "data:", "/"))
    image = lab.output(cell, 'img[src^="data:image/png"]').first
    assert image.evaluate("(img) => img.complete && img.naturalWidth === 8")


def test_hostile_text_output_and_file_names_run_no_script(
    standin: StandIn,
    jupyter_lab_factory: Callable[..., JupyterLabServer],
    lab_factory: Callable[..., LabPage],
    artifacts: Artifacts,
) -> None:
    print(f"screenshots: {artifacts.directory}")
    standin.set_script(
        Script.from_dict({"replies": [{"steps": [{"text": PROSE}, {"python": HOSTILE_CODE}, {"text": PROSE}]}]})
    )
    server = jupyter_lab_factory(env={"ANTHROPIC_BASE_URL": standin.base_url, "ANTHROPIC_API_KEY": "test"})
    lab = lab_factory(server)
    urls = watch_requests(lab)
    lab.open_notebook("hostile", ["%load_ext claude_magic", "%%claude_exec --out t\nShow me something nasty.", "t"])
    lab.run_cell(0)
    lab.run_cell(1, key="Control+Enter", timeout=120)
    lab.wait_for_output(1, 'img[src^="data:image/png"]')
    lab.screenshot("live-turn")
    lab.screenshot("live-turn-cell", cell=1)
    assert_turn_shows_payloads_as_text(lab, 1, ".claude-magic-text")  # prose: inert HTML from markdown-it-py
    assert_inert(lab, urls)

    # The same turn again through Turn._repr_mimebundle_ (one text/html block).
    lab.run_cell(2, key="Control+Enter")
    lab.wait_for_output(2, ".claude-magic-turn")
    lab.screenshot("turn-repr-cell", cell=2)
    assert_turn_shows_payloads_as_text(lab, 2, ".claude-magic-text")
    alt = lab.output(2, 'img[src^="data:image/png"]').first.get_attribute("alt")
    assert alt == f"{SAFE_NAME}.png"
    assert_inert(lab, urls)
    # The payloads really were in what the kernel received, not lost on the way.
    assert [r for r in standin.requests if r.path == "/v1/messages"], "the turn never reached the stand-in"
    assert any(stored.filename == f"{IMG_TAG}.txt" for stored in standin.files.values())


def test_hostile_file_names_in_the_picker_run_no_script(
    standin: StandIn,
    jupyter_lab_factory: Callable[..., JupyterLabServer],
    lab_factory: Callable[..., LabPage],
    artifacts: Artifacts,
) -> None:
    print(f"screenshots: {artifacts.directory}")
    server = jupyter_lab_factory(env={"ANTHROPIC_BASE_URL": standin.base_url, "ANTHROPIC_API_KEY": "test"})
    (server.root_dir / f"{IMG_TAG}.csv").write_text("x\n1\n")  # on the kernel's disk, in its working dir
    lab = lab_factory(server)
    urls = watch_requests(lab)
    lab.open_notebook("hostile_picker", ["%load_ext claude_magic", "%claude_upload --widget"])
    lab.run_cell(0)
    lab.run_cell(1, key="Control+Enter")
    lab.wait_for_output(1, ".widget-upload")

    # From the browser: the API refuses < > " in names, so it comes back in a failed row, as text.
    math = "price $x^2$ list.csv"  # must show as typed, never as TeX
    files: list[FilePayload] = [
        {"name": f"{IMG_TAG}.csv", "mimeType": "text/csv", "buffer": b"x\n1\n"},
        {"name": math, "mimeType": "text/csv", "buffer": b"x\n2\n"},
    ]
    lab.set_output_files(1, files)
    lab.wait_for_output_text(1, "1 of 2 files ready")
    lab.screenshot("browser-choice")
    failed = lab.output(1, ".widget-hbox").filter(has_text="failed:")
    assert IMG_TAG in failed.inner_text(), failed.inner_text()
    assert math in lab.output_text(1), lab.output_text(1)
    assert_inert(lab, urls)
    # Deleting it names it in the status line, as typed too.
    row = lab.output(1, ".widget-hbox").filter(has_text=math)
    row.locator("button").filter(has_text="Delete…").click()
    row.locator("button").filter(has_text="Yes, delete").click()
    lab.wait_for_output_text(1, "Deleted price")
    assert f"Deleted {math}" in lab.output(1, ".claude-magic-status").inner_text()

    # From the kernel's disk: the option label shows the name as text.
    lab.output(1, "button").filter(has_text="Find").click()
    lab.wait_for_output_text(1, "select some and press Upload selected")
    select = lab.output(1, "select").first
    labels = [label.replace("\xa0", " ") for label in select.locator("option").all_inner_texts()]  # nbsp: ipywidgets
    assert f"{IMG_TAG}.csv (4 bytes)" in labels, labels
    select.select_option(index=labels.index(f"{IMG_TAG}.csv (4 bytes)"))
    lab.output(1, "button").filter(has_text="Upload selected").click()
    lab.wait_for_output_text(1, "0 of 1 file ready")
    lab.screenshot("disk-choice")
    assert IMG_TAG in lab.output(1, ".widget-hbox").filter(has_text="failed:").inner_text()
    assert_inert(lab, urls)
