"""The nbconvert HTML export reads well with JavaScript off, with and without JupyterLab's CSS.

An executed notebook (a real kernel against the stand-in, as ``make demo`` does) is exported with
nbconvert's ``HTMLExporter`` and opened in headless Chromium with JavaScript disabled. The code
Claude ran and its stdout must be monospace, stdout and stderr must sit in visible, labelled
boxes, and the footer must fit on one line at 1,400 px, also once every stylesheet is removed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbconvert import HTMLExporter

from claude_magic.testing import Script, StandIn

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
TABLE = (
    "import sys\n"
    "print('   month  revenue  churned')\n"
    "for i, m in enumerate(['jan', 'feb', 'mar']):\n"
    "    print(f'{i}    {m}    {10 * (i + 1):>5}  {i % 2:>7}')\n"
    "print('a warning', file=sys.stderr)\n"
)
STEPS: list[dict[str, Any]] = [
    {"text": "I'll print the **table** first."},
    {"python": TABLE},
    {"text": "Done."},
]


def _executed_notebook(standin: StandIn, workdir: Path) -> nbformat.NotebookNode:
    standin.set_script(Script.from_dict({"replies": [{"steps": STEPS}]}))
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("%load_ext claude_magic"),
        nbformat.v4.new_code_cell("%%claude_exec\nPrint the churn table."),
    ]
    manager = KernelManager(kernel_name="python3")
    manager.kernel_spec_manager = KernelSpecManager(kernel_dirs=[])  # this interpreter's ipykernel
    env = {
        **os.environ,
        "ANTHROPIC_BASE_URL": standin.base_url,
        "ANTHROPIC_API_KEY": "test",
        "CLAUDE_MAGIC_CACHE_DIR": str(workdir / "cache"),
        "IPYTHONDIR": str(workdir / "ipython"),
    }
    client = NotebookClient(notebook, km=manager, timeout=60, resources={"metadata": {"path": str(workdir)}})
    client.execute(env=env)
    return notebook


def _without_css(html: str) -> str:
    html = re.sub(r"<style\b.*?</style>", "", html, flags=re.DOTALL | re.IGNORECASE)
    return re.sub(r"<link\b[^>]*stylesheet[^>]*>", "", html, flags=re.IGNORECASE)


def _style(page: Page, selector: str, prop: str) -> str:
    value: str = page.eval_on_selector(selector, f"el => getComputedStyle(el).getPropertyValue({prop!r})")
    return value


def _check(page: Page) -> None:
    for selector in (".claude-magic-source", ".claude-magic-stdout", ".claude-magic-stderr"):
        family = _style(page, selector, "font-family")
        assert "monospace" in family or "mono" in family.lower(), (selector, family)
    for selector in (".claude-magic-stdout", ".claude-magic-stderr"):
        assert _style(page, selector, "border-left-width") != "0px", selector
        assert _style(page, selector, "background-color") not in ("rgba(0, 0, 0, 0)", "transparent"), selector
        assert _style(page, selector, "white-space") == "pre", selector
    labels = page.eval_on_selector_all(".claude-magic-label", "els => els.map(el => el.innerText.trim())")
    assert labels == ["stdout", "stderr"]
    # Columns line up: every row of the printed table has the same width in a monospace font.
    widths = page.evaluate(
        """() => {
          const pre = document.querySelector('.claude-magic-stdout');
          const probe = document.createElement('span');
          pre.appendChild(probe);
          return pre.innerText.split('\\n').filter(Boolean).map(line => {
            probe.textContent = line; return probe.getBoundingClientRect().width;
          });
        }"""
    )
    assert max(widths[:-1]) - min(widths[:-1]) < 1, widths  # the probe line itself is last
    # The footer is one line at 1,400 px.
    footer = page.eval_on_selector(
        ".claude-magic-summary",
        "el => [el.getBoundingClientRect().height, el.querySelector('span').getBoundingClientRect().height]",
    )
    assert footer[0] < 1.5 * footer[1], footer
    assert page.evaluate("() => typeof window.MathJax + typeof window.require") == "undefinedundefined"


def test_export_is_legible_without_javascript_and_without_css(
    chromium: Browser, standin: StandIn, tmp_path: Path
) -> None:
    notebook = _executed_notebook(standin, tmp_path)
    body, _ = HTMLExporter(embed_images=True).from_notebook_node(notebook)
    assert "claude-magic-stdout" in body
    exported = tmp_path / "export.html"
    exported.write_text(body, encoding="utf-8")
    bare = tmp_path / "export-no-css.html"
    bare.write_text(_without_css(body), encoding="utf-8")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(java_script_enabled=False, viewport={"width": 1400, "height": 900})
    try:
        for path in (exported, bare):
            page = context.new_page()
            page.goto(path.as_uri())
            page.screenshot(path=str(SCREENSHOTS / f"html-{path.stem}.png"), full_page=True)
            _check(page)
            page.close()
    finally:
        context.close()
