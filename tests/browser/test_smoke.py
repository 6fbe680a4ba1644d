"""Smoke test of the browser harness: JupyterLab renders kernel output, matplotlib and ipywidgets.

Proves the stack the end-to-end tests stand on: the kernel is the venv's interpreter (it imports
claude_magic), text and inline images reach the page, and a FileUpload widget renders and sends a
file the browser picked back to the kernel.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import pytest
from harness import LabPage

if TYPE_CHECKING:
    from playwright.sync_api import FilePayload

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def jupyter_lab_env() -> dict[str, str]:
    """What the server and its kernels get on top of the (scrubbed) environment.

    The end-to-end tests pass ``ANTHROPIC_BASE_URL`` (the stand-in's URL) and ``ANTHROPIC_API_KEY``.
    """
    return {"ANTHROPIC_BASE_URL": "http://127.0.0.1:9/smoke", "ANTHROPIC_API_KEY": "test"}


def test_text_and_matplotlib_render(lab: LabPage) -> None:
    lab.open_notebook(
        "smoke_render",
        [
            "import os, sys, claude_magic\nprint('hello from the kernel')\nprint(sys.executable)\n"
            "print('base url', os.environ.get('ANTHROPIC_BASE_URL'), os.environ.get('ANTHROPIC_API_KEY'))",
            "%matplotlib inline\nimport matplotlib.pyplot as plt\n"
            "fig, ax = plt.subplots(figsize=(4, 3))\nax.plot([0, 1, 2, 3], [0, 1, 4, 9], marker='o')\n"
            "ax.set_title('smoke')\nplt.show()",
        ],
    )
    lab.screenshot("opened")

    lab.run_cell(0)
    text = lab.wait_for_output_text(0, "hello from the kernel")
    assert "hello from the kernel" in text
    assert sys.executable in text, "the kernel must be the interpreter running the tests (the venv)"
    assert "base url http://127.0.0.1:9/smoke test" in text, "jupyter_lab_env must reach the kernel"
    lab.screenshot("printed")

    lab.run_cell(1)
    img = lab.wait_for_output(1, "img")
    assert (img.get_attribute("src") or "").startswith("data:image/png")
    box = img.bounding_box()
    assert box is not None
    assert box["width"] > 100, box
    assert box["height"] > 100, box
    lab.screenshot("figure")
    lab.screenshot("figure-cell", cell=1)
    assert not lab.dismissed_dialogs, lab.dismissed_dialogs
    assert not lab.page_errors, lab.page_errors


def test_fileupload_widget_reaches_kernel(lab: LabPage) -> None:
    lab.open_notebook(
        "smoke_widgets",
        [
            "import ipywidgets as widgets\nw = widgets.FileUpload(multiple=True)\nw",
            "print('count', len(w.value))\n"
            "for f in w.value:\n    print('file', f['name'], f['size'], bytes(f['content']).decode())",
        ],
    )
    lab.run_all()
    lab.wait_for_output(0, ".widget-upload")
    lab.screenshot("widget")

    # A file made in memory; a path works too.  FileUpload keeps its <input type=file> out of the DOM,
    # so the harness clicks the button and answers the browser's file chooser.
    payload: FilePayload = {"name": "hello.txt", "mimeType": "text/plain", "buffer": b"hi from the browser"}
    lab.set_output_files(0, [payload])
    # The widget counts the files it has read and synced to the kernel in its label.
    lab.wait_for_output_text(0, "(1)")
    lab.screenshot("file-set")

    lab.run_cell(1, key="Control+Enter")
    text = lab.wait_for_output_text(1, "count 1")
    assert "file hello.txt 19 hi from the browser" in text, text
    lab.screenshot("kernel-saw-file")
