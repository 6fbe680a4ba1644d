"""The file picker in a real browser: JupyterLab + Chromium, the kernel talking to the stand-in.

A person's path through the panel: load the extension, show the picker with
``%claude_upload --widget``, choose files in the browser's file dialog, see their file ids in the
list, untick one, run ``%%claude_exec`` and see the chart Claude's code made, delete a file.
The stand-in runs in this test process; the kernel gets its URL through the server's environment.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from harness import Artifacts, JupyterLabServer, LabPage

from claude_magic.testing import Script, StandIn

if TYPE_CHECKING:
    from playwright.sync_api import FilePayload

pytestmark = pytest.mark.browser

SALES = b"month,revenue\njan,10\nfeb,20\nmar,30\n"
NOTES = b"revenue is in euros\n"

PLOT = """
import os
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
print("inputs", sorted(os.listdir(os.environ["INPUT_DIR"])))
frame = pd.read_csv(os.path.join(os.environ["INPUT_DIR"], "sales.csv"))
fig, ax = plt.subplots(figsize=(4, 3))
ax.bar(frame["month"], frame["revenue"])
ax.set_title("revenue by month")
fig.savefig(os.path.join(os.environ["OUTPUT_DIR"], "revenue.png"))
print("total", int(frame["revenue"].sum()))
"""


def file_id_named(standin: StandIn, name: str) -> str:
    [file_id] = [file_id for file_id, stored in standin.files.items() if stored.filename == name]
    return file_id


def test_picker_uploads_from_the_browser_and_the_next_turn_uses_the_ticked_file(
    standin: StandIn,
    jupyter_lab_factory: Callable[..., JupyterLabServer],
    lab_factory: Callable[..., LabPage],
    artifacts: Artifacts,
) -> None:
    print(f"screenshots: {artifacts.directory}")
    standin.set_script(
        Script.from_dict(
            {"replies": [{"steps": [{"text": "Plotting revenue by month."}, {"python": PLOT}, {"text": "Done."}]}]}
        )
    )
    server = jupyter_lab_factory(env={"ANTHROPIC_BASE_URL": standin.base_url, "ANTHROPIC_API_KEY": "test"})
    lab = lab_factory(server)
    lab.open_notebook(
        "picker",
        [
            "%load_ext claude_magic",
            "picker = %claude_upload --widget\npicker",
            "%%claude_exec\nPlot revenue by month from sales.csv.",
        ],
    )
    lab.screenshot("opened")
    lab.run_cell(0)
    lab.run_cell(1)
    lab.wait_for_output(1, ".widget-upload")
    lab.wait_for_output_text(1, "10 MB")  # the panel says how much the browser can send
    lab.screenshot("picker-shown")

    # Two files in one choice, through the browser's own file dialog.
    files: list[FilePayload] = [
        {"name": "sales.csv", "mimeType": "text/csv", "buffer": SALES},
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": NOTES},
    ]
    lab.set_output_files(1, files)
    lab.wait_for_output_text(1, "2 of 2 files ready")
    sales_id, notes_id = file_id_named(standin, "sales.csv"), file_id_named(standin, "notes.txt")
    assert standin.files[sales_id].data == SALES
    text = lab.output_text(1)
    assert sales_id in text and notes_id in text, text
    sales_row = lab.output(1, ".widget-hbox").filter(has_text=sales_id)
    notes_row = lab.output(1, ".widget-hbox").filter(has_text=notes_id)
    assert "sales.csv" in sales_row.inner_text() and "uploaded" in sales_row.inner_text()
    assert "attached next turn" in sales_row.inner_text()
    assert sales_row.locator("input[type=checkbox]").is_checked()
    # The chooser counts the files chosen on this computer: "(2)", not "(0)" right after an upload.
    assert lab.output(1, ".widget-upload").inner_text().strip().endswith("(2)")
    lab.screenshot("uploaded")

    # Untick notes.txt: the next turn attaches only sales.csv.
    notes_row.locator("input[type=checkbox]").click()
    lab.wait_for_output_text(1, "The next %%claude_exec attaches sales.csv.")
    assert not notes_row.locator("input[type=checkbox]").is_checked()
    lab.screenshot("notes-unticked")

    lab.run_cell(2, key="Control+Enter", timeout=120)
    img = lab.wait_for_output(2, 'img[src^="data:image/png"]')
    assert img.evaluate("(image) => image.complete && image.naturalWidth > 100"), "the PNG did not decode"
    turn_text = lab.output_text(2)
    assert "inputs ['sales.csv']" in turn_text and "total 60" in turn_text, turn_text
    assert "Plotting revenue by month." in turn_text
    [request] = [r for r in standin.requests if r.method == "POST" and r.path == "/v1/messages"]
    assert request.json is not None
    content: list[dict[str, Any]] = request.json["messages"][-1]["content"]
    assert [block["file_id"] for block in content if block["type"] == "container_upload"] == [sales_id]
    lab.screenshot("turn-with-chart")
    lab.screenshot("turn-cell", cell=2)
    # The magic redrew the shown picker: sales.csv is in the container now, unticked; the old status went.
    lab.wait_for_output_text(1, "2 files uploaded: 0 attached next turn, 1 in the container.")
    assert "in the container" in sales_row.inner_text() and "not attached" in notes_row.inner_text()
    assert not sales_row.locator("input[type=checkbox]").is_checked()
    assert "The next %%claude_exec attaches" not in lab.output_text(1)
    lab.screenshot("picker-after-turn", cell=1)

    # Delete notes.txt from the page (it asks first): gone from the server and from the list.
    notes_row.locator("button", has_text="Delete…").click()
    notes_row.locator("button", has_text="Yes, delete").click()
    lab.wait_for_output_text(1, f"Deleted notes.txt ({notes_id})")
    assert notes_id not in standin.files and sales_id in standin.files
    assert notes_row.count() == 0
    assert lab.output(1, ".widget-hbox").filter(has_text=sales_id).count() == 1
    lab.screenshot("notes-deleted")

    assert not lab.js_dialogs, lab.js_dialogs
    assert not lab.page_errors, lab.page_errors
    assert not lab.dismissed_dialogs, lab.dismissed_dialogs
