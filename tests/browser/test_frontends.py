"""One turn as a reader sees it in JupyterLab and Notebook 7, in the light and the dark theme.

The turn has everything a turn can show: Claude's prose (with markdown), the code it ran, a pandas
table on stdout, a warning on stderr, a chart, a CSV to download, a notice (the server lost an
upload, so it was sent again) and the footer. Each frontend and theme gets a screenshot under
``build/screenshots/<test>/`` and checks of what a person needs to read it: the text is there, code
and stdout are in a monospace font, every text has enough contrast against what is painted behind
it, the chart decoded, the file is a link, and nothing sticks out of the output area.

One server (serving both frontends) and one stand-in serve the module; each test has its own page
and kernel. The theme is the user setting the theme menu writes, read when a page loads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
from _legibility import escaped_elements, look_of
from harness import DARK_THEME, LIGHT_THEME, App, JupyterLabServer, LabPage

if TYPE_CHECKING:
    from playwright.sync_api import Browser

from claude_magic.testing import Script, StandIn

pytestmark = pytest.mark.browser

MODEL = "claude-sonnet-5"
PROSE = "I'll total **revenue by region** first, then chart it."
CODE = """
import glob, os, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
[path] = glob.glob(os.path.join(os.environ["INPUT_DIR"], "*.csv"))
frame = pd.read_csv(path)
totals = frame.groupby("region")["revenue"].sum()
print(totals.to_frame().to_string())
print(f"grand total {totals.sum()}")
print("warning: 1 row has no region", file=sys.stderr)
fig, ax = plt.subplots(figsize=(4, 2.5))
totals.plot.bar(ax=ax, title="revenue by region")
fig.tight_layout()
fig.savefig(os.path.join(os.environ["OUTPUT_DIR"], "revenue.png"))
totals.to_csv(os.path.join(os.environ["OUTPUT_DIR"], os.path.basename(path).replace("sales", "totals")))
"""
SALES = "region,revenue\nnorth,10\nsouth,20\nnorth,30\n,5\n"
THEMES = {"light": LIGHT_THEME, "dark": DARK_THEME}
MIN_CONTRAST = 4.5  # WCAG AA for body text
FRONTEND_NOISE = {
    # Notebook 7.6's own bundle (notebook_core.js, its shortcuts plugin) throws these on every page of
    # this server, a notebook that printed 1 included: not ours, and nothing on the page breaks.
    "notebook": (
        "Cannot read properties of undefined (reading 'schema')",
        "Command 'filebrowser:open-path' not registered.",
    ),
}


@pytest.fixture(scope="module")
def module_standin() -> Iterator[StandIn]:
    script = {
        "model": MODEL,
        "replies": [
            {"match": "", "steps": [{"text": PROSE}, {"python": CODE}, {"text": "The north leads; see the chart."}]}
        ],
    }
    with StandIn(script=Script.from_dict(script)) as api:
        yield api


@pytest.fixture(scope="module")
def jupyter_lab_env(module_standin: StandIn) -> dict[str, str]:
    return {"ANTHROPIC_BASE_URL": module_standin.base_url, "ANTHROPIC_API_KEY": "test"}


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_one_turn_reads_well(
    app: App,
    theme: str,
    module_standin: StandIn,
    jupyter_lab: JupyterLabServer,
    lab_factory: Callable[..., LabPage],
) -> None:
    jupyter_lab.set_theme(THEMES[theme])
    data, totals = f"sales_{app}_{theme}.csv", f"totals_{app}_{theme}.csv"
    (jupyter_lab.root_dir / data).write_text(SALES)
    lab = lab_factory(app=app, height=1700)  # tall enough to show the whole turn
    lab.open_notebook(
        f"turn_{app}_{theme}",
        [f"%load_ext claude_magic\n%claude_upload {data}", f"%%claude_exec\nTotal the revenue by region in {data}."],
    )
    light = lab.page.evaluate("() => document.body.dataset.jpThemeLight")
    assert light == ("true" if theme == "light" else "false"), f"{THEMES[theme]} is not applied ({light})"
    lab.run_cell(0)
    lab.wait_for_output_text(0, data)
    # The server loses the upload before the turn: the turn sends it again and says so (a notice).
    [file_id] = [key for key, stored in module_standin.files.items() if stored.filename == data]
    module_standin.expire_file(file_id)
    lab.run_cell(1, key="Control+Enter", timeout=120)
    area = lab.output_area(1)
    image = lab.wait_for_output(1, 'img[src^="data:image/png"]')
    lab.wait_for_output_text(1, "token")  # the footer comes last
    lab.screenshot(f"{app}-{theme}")
    lab.screenshot(f"{app}-{theme}-turn", cell=1)

    text = area.inner_text()
    for shown in (
        "revenue by region",  # prose, its markdown rendered ...
        "The north leads",
        "frame.groupby",  # ... the code ...
        "grand total 60",  # ... stdout ...
        "warning: 1 row has no region",  # ... stderr ...
        totals,  # ... the file ...
        f"The server no longer had {data}",  # ... the notice ...
        MODEL,  # ... and the footer
    ):
        assert shown in text, (shown, text)
    assert "**revenue" not in text, "markdown was shown raw"
    assert text.count(f"The server no longer had {data}") <= 2, text  # live notice + the footer's, not more

    prose = look_of(area, "first, then chart it")
    assert lab.page.evaluate(
        "(area) => [...area.querySelectorAll('strong, b')].some(e => e.textContent.includes('revenue by region'))",
        area.element_handle(),
    ), "the markdown bold was not rendered"
    looks = {
        "prose": prose,
        "code": look_of(area, "frame.groupby"),
        "stdout": look_of(area, "grand total 60"),
        "stderr": look_of(area, "warning: 1 row has no region"),
        "notice": look_of(area, f"The server no longer had {data}"),
        "footer": look_of(area, MODEL),
    }
    measured = (f"{part} {look.contrast:.1f}:1{' mono' * look.monospace}" for part, look in looks.items())
    print(f"{app}/{theme}: " + ", ".join(measured))
    for part in ("code", "stdout", "stderr"):
        assert looks[part].monospace, (part, looks[part])
    assert not looks["prose"].monospace, looks["prose"]
    for part, look in looks.items():
        assert look.contrast >= MIN_CONTRAST, (part, look)
    # stdout keeps a table's columns aligned: the monospace font sets "north" and "south" equally wide.
    assert "north" in text and "south" in text

    assert image.evaluate("(img) => img.complete && img.naturalWidth > 100"), "the chart did not decode"
    link = lab.output(1, "a").filter(has_text=totals).first
    href = link.get_attribute("href") or ""
    assert href and not href.lower().startswith(("javascript:", "data:")), href
    assert escaped_elements(area) == []
    # The output fits the notebook: the page needs no sideways scrolling.
    assert lab.page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert [error for error in lab.page_errors if error not in FRONTEND_NOISE.get(app, ())] == [], lab.page_errors
    assert not lab.dismissed_dialogs, lab.dismissed_dialogs


def test_the_legibility_checks_catch_what_they_should(chromium: Browser) -> None:
    """The measures above can fail: grey on grey, a proportional "code" font, a box wider than its area."""
    page = chromium.new_page(viewport={"width": 800, "height": 600})
    try:
        page.set_content(
            '<div id="area" style="width: 400px; background: #eee">'
            '<pre style="font-family: monospace">mono text</pre>'
            '<pre style="font-family: sans-serif">proportional text</pre>'
            '<p style="color: #bbb">faint text</p>'
            '<div style="background: rgba(0, 0, 0, 0.9)"><span style="color: #fff">light on dark</span></div>'
            '<div style="width: 600px">too wide</div>'
            '<div style="overflow-x: auto"><div style="width: 600px">scrolls</div></div>'
            "</div>"
        )
        area = page.locator("#area")
        assert look_of(area, "mono text").monospace
        assert not look_of(area, "proportional text").monospace
        assert look_of(area, "faint text").contrast < 2
        assert look_of(area, "light on dark").contrast > 15  # the 90 % black layer is composited over #eee
        assert look_of(area, "mono text").contrast > 15
        escaped = escaped_elements(area)
        assert len(escaped) == 1 and escaped[0].startswith("div"), escaped  # the scrolled one is fine
        with pytest.raises(AssertionError, match="no visible element"):
            look_of(area, "not on the page")
    finally:
        page.close()
