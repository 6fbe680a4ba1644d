"""Golden-ish tests of the pure renderer: results values in, mimebundles out.

Everything the model or the sandbox wrote is hostile here: each HTML output is parsed and must
hold only our tags, no event handlers, no scripts, no external or ``javascript:`` URLs.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from claude_magic import _pricing as pricing
from claude_magic import _render as render
from claude_magic.results import (
    CodeStep,
    ContainerInfo,
    EditStep,
    Execution,
    OutputFile,
    TextStep,
    Turn,
    UploadBatch,
    UploadedFile,
    Usage,
)

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
HOSTILE = f"{SCRIPT} {IMG} \"quoted\" & 'single' </pre></details>"

OUR_TAGS = {"div", "span", "pre", "details", "summary", "table", "thead", "tbody", "tr", "th", "td"}
OUR_TAGS |= {"a", "img", "code", "b"}
OUR_ATTRS = {"class", "style", "href", "download", "src", "alt", "title", "open"}
MARKDOWN_TAGS = {"p", "code", "pre", "a", "em", "strong", "ul", "ol", "li", "blockquote", "hr", "br"}
MARKDOWN_TAGS |= {"h1", "h2", "h3", "h4", "h5", "h6", "del", "table", "thead", "tbody", "tr", "th", "td"}


class _TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.other: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_comment(self, data: str) -> None:
        self.other.append(f"comment {data}")

    def handle_decl(self, decl: str) -> None:
        self.other.append(f"decl {decl}")

    def handle_pi(self, data: str) -> None:
        self.other.append(f"pi {data}")


def _parse(markup: str) -> _TagCollector:
    parser = _TagCollector()
    parser.feed(markup)
    parser.close()
    return parser


def assert_inert(markup: str, *, allowed: set[str] = OUR_TAGS, attrs: set[str] = OUR_ATTRS) -> str:
    """Fail unless ``markup`` holds only allowed tags and attributes, with safe URLs; return its text."""
    parsed = _parse(markup)
    assert not parsed.other, parsed.other
    for tag, tag_attrs in parsed.tags:
        assert tag in allowed, (tag, markup)
        for name, value in tag_attrs:
            assert name in attrs, (tag, name, markup)
            value = value or ""
            if name == "href":
                scheme = value.split("/", 1)[0]
                assert ":" not in scheme or value.startswith(("https://", "http://")), value
                assert not value.startswith("//"), value
            if name == "src":
                assert value.startswith(("data:image/png;", "data:image/jpeg;", "data:image/gif;")), value[:40]
            if name == "style":
                assert not any(bad in value for bad in ("url(", "expression", "javascript")), value
    lowered = markup.lower()
    assert "<script" not in lowered
    assert "<style" not in lowered
    assert "<img src=x" not in lowered
    return "".join(parsed.text)


def assert_html_bundle(bundle: render.MimeBundle) -> str:
    assert set(bundle) == {"text/html", "text/plain"}
    return assert_inert(bundle["text/html"])


# --- text steps: Markdown ---------------------------------------------------------------------


TEXT_TAGS = MARKDOWN_TAGS | OUR_TAGS


def _text_html(text: str) -> str:
    bundle = render.step_bundle(TextStep(text))
    assert set(bundle) == {"text/html", "text/plain"}
    return bundle["text/html"]


@pytest.mark.parametrize(
    "text",
    [
        f"Look: {SCRIPT} and {IMG}",
        f"{IMG}\n\ntext",
        "<div onclick=alert(1)>x</div>",
        "</p><svg/onload=alert(1)>",
        "<!-- comment --> <?php ?> <![CDATA[x]]> <!DOCTYPE html>",
        "<https://example.com> <mailto:a@b.c>",
        "Escaped: \\<img src=x onerror=alert(1)>",
        "In a span: `x` <img src=x onerror=alert(1)> `y`",
        f"`unclosed span {IMG}",
        f"- item\n  ```\n  code\n{IMG}\n  ```\n",
        f"  ```\n```\n{IMG}\n```\n",
        f"~~~\n```\n~~~\n{IMG}\n",
        f"``` info`with`ticks\n{IMG}\n```",
        f"> ```\n{IMG}\n```\n{IMG}",
        f"\t```\n{IMG}\n```\n{IMG}\n```",
        f"a\r```\r{IMG}\r```",
        f"a\x85```\n{IMG}\n```",
        f"```{IMG}\nx\n```",
        f"| a | b |\n|---|---|\n| {IMG} | {SCRIPT} |",
    ],
)
def test_text_step_html_is_inert(text: str) -> None:
    markup = _text_html(text)
    assert_inert(markup, allowed=TEXT_TAGS, attrs=OUR_ATTRS)
    assert "<img" not in markup and "<svg" not in markup and "<div onclick" not in markup


def test_text_step_plain_is_the_text() -> None:
    bundle = render.step_bundle(TextStep(f"Hello **world** {SCRIPT}\x1b[1m!\x1b[0m"))
    assert bundle["text/plain"] == f"Hello **world** {SCRIPT}!"
    assert "<strong>world</strong> &lt;script&gt;alert(1)&lt;/script&gt;!" in bundle["text/html"]


def test_text_step_renders_markdown_and_highlights_fenced_code() -> None:
    text = f"Before `a < b`.\n\n```python\nif a < b and '<x>' in s:\n    print({SCRIPT!r})\n```\nAfter <b>x</b>."
    markup = _text_html(text)
    assert "<code>a &lt; b</code>" in markup
    assert '<pre class="claude-magic-source"' in markup
    assert "monospace" in markup.split('<pre class="claude-magic-source"', 1)[1].split(">", 1)[0]
    assert ">if</span>" in markup  # highlighted as Python
    assert "&lt;script&gt;" in markup and "After &lt;b&gt;x&lt;/b&gt;." in markup
    assert_inert(markup, allowed=TEXT_TAGS)
    # The code reads back verbatim once the markup is taken away.
    assert f"if a < b and '<x>' in s:\n    print({SCRIPT!r})" in assert_inert(markup, allowed=TEXT_TAGS)


def test_text_step_fence_cannot_be_closed_by_its_content() -> None:
    markup = _text_html(f"~~~\n````\n{IMG}\n~~~\nafter")
    assert f"````\n{IMG}" in assert_inert(markup, allowed=TEXT_TAGS)
    assert "<p>after</p>" in markup


def test_text_step_unclosed_fence_runs_to_the_end() -> None:
    markup = _text_html(f"```bash\necho {IMG}")
    assert f"echo {IMG}" in assert_inert(markup, allowed=TEXT_TAGS)
    assert "<p>" not in markup


@pytest.mark.parametrize(
    "link",
    [
        "[x](javascript:alert(1))",
        "[x](JavaScript:alert(1))",
        "[x]( javascript:alert(1))",
        "[x](jav&#x61;script:alert(1))",
        "[x](javascript\\:alert(1))",
        "[x](<javascript:alert(1)>)",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x][r]\n\n[r]: javascript:alert(1)",
        "[x](vbscript:msgbox(1))",
        "[x](file:///etc/passwd)",
        "[x](/api/contents)",
        "[x](//evil.test/a)",
        "<javascript:alert(1)>",
    ],
)
def test_text_step_neutralises_unsafe_links(link: str) -> None:
    assert "href" not in _text_html(link)


def test_text_step_keeps_web_links_and_turns_images_into_links() -> None:
    markup = _text_html("[docs](https://example.com/a) ![chart](https://evil.test/t.png) [top](#a)")
    assert "<img" not in markup
    assert '<a href="https://example.com/a">docs</a>' in markup
    assert '<a href="https://evil.test/t.png">chart</a>' in markup
    assert '<a href="#a">top</a>' in markup


# --- code steps -------------------------------------------------------------------------------


def _code(code: str = "print(1)\n", language: str = "python", **result: object) -> CodeStep:
    execution = Execution(**result) if result else None  # type: ignore[arg-type]
    return CodeStep("toolu_1", language, code, execution)  # type: ignore[arg-type]


def test_code_step_golden_plain_transcript() -> None:
    step = _code(
        "import sys\nprint('hi')\n",
        stdout="hi\n",
        stderr="Traceback (most recent call last):\nValueError: no\n",
        return_code=1,
    )
    assert render.step_bundle(step)["text/plain"] == (
        "[Python]\n"
        "│ import sys\n"
        "│ print('hi')\n"
        "hi\n"
        "[stderr]\n"
        "Traceback (most recent call last):\n"
        "ValueError: no\n"
        "[exit code 1]"
    )


def test_code_step_html_structure() -> None:
    step = _code("x = 1\n", stdout="1\n", stderr="warning\n", return_code=2)
    bundle = render.step_bundle(step)
    markup = bundle["text/html"]
    assert_html_bundle(bundle)
    assert '<details class="claude-magic-code" open>' in markup
    assert ">Python</summary>" in markup
    assert '<pre class="claude-magic-stdout"' in markup
    assert '<pre class="claude-magic-stderr" style="' in markup
    assert "var(--jp-rendermime-error-background, #fdd)" in markup
    assert "exit code 2" in markup


def test_code_step_highlights_python_and_bash() -> None:
    python = render.step_bundle(_code("import os\nx = 'a'  # note\n"))["text/html"]
    assert '<span style="color: var(--jp-mirror-editor-keyword-color,#008000); font-weight: bold">import</span>' in (
        python
    )
    assert "var(--jp-mirror-editor-string-color,#ba2121)" in python
    assert "font-style: italic" in python  # the comment
    bash = render.step_bundle(_code('echo "hi" | grep -c h\n', "bash"))["text/html"]
    assert ">bash</summary>" in bash
    assert "var(--jp-mirror-editor-string-color,#ba2121)" in bash
    assert "echo" in bash
    assert "<span" in bash
    for markup in (python, bash):
        assert "<style" not in markup
        assert 'class="highlight"' not in markup


def test_code_step_long_code_starts_collapsed() -> None:
    code = "\n".join(f"x{i} = {i}" for i in range(25))
    markup = render.step_bundle(_code(code))["text/html"]
    assert '<details class="claude-magic-code">' in markup
    assert "Python · 25 lines</summary>" in markup
    short = render.step_bundle(_code("\n".join(["pass"] * render.COLLAPSE_LINES)))["text/html"]
    assert '<details class="claude-magic-code" open>' in short


def test_code_step_hostile_everything_is_inert() -> None:
    step = _code(
        f"print({HOSTILE!r})\n# {HOSTILE}\n",
        stdout=HOSTILE + "\n",
        stderr=HOSTILE + "\n",
        return_code=1,
        error_code="execution_time_exceeded",
        error_message=HOSTILE,
    )
    bundle = render.step_bundle(step)
    text = assert_html_bundle(bundle)
    assert text.count(SCRIPT) == 5
    assert text.count(IMG) == 5
    assert "&#34;quoted&#34; &amp; &#39;single&#39;" in bundle["text/html"]


def test_code_step_running_and_tool_errors() -> None:
    running = render.step_bundle(_code())
    assert "running…" in running["text/html"]
    assert running["text/plain"].endswith("[running…]")
    step = _code(error_code="execution_time_exceeded", error_message="killed after 300 s")
    bundle = render.step_bundle(step)
    assert (
        "the code ran past the sandbox time limit (execution_time_exceeded): killed after 300 s"
        in (bundle["text/html"])
    )
    assert bundle["text/plain"].endswith(
        "[Tool error: the code ran past the sandbox time limit (execution_time_exceeded): killed after 300 s]"
    )
    unknown = render.step_bundle(_code(error_code="brand_new_code"))
    assert "the tool reported an error (brand_new_code)" in unknown["text/plain"]


def test_code_step_strips_ansi_and_resolves_carriage_returns() -> None:
    step = _code(stdout="\x1b[31mred\x1b[0m\n 10%\r 50%\r100%\n\x1b]0;title\x07done\x00\n", return_code=0)
    bundle = render.step_bundle(step, show_code=False)
    assert bundle["text/plain"] == "red\n100%\ndone"
    assert "\x1b" not in bundle["text/html"]
    assert "[31m" not in bundle["text/html"]


def test_code_step_truncates_long_output_with_a_note() -> None:
    stdout = "".join(f"line {i}\n" for i in range(1000))
    step = _code(stdout=stdout, return_code=0)
    bundle = render.step_bundle(step, max_lines=100)
    note = "… 900 more lines (full text in the Turn)"
    assert note in bundle["text/html"]
    assert note in bundle["text/plain"]
    assert "line 74\n" in bundle["text/plain"]
    assert "line 75\n" not in bundle["text/plain"]
    assert "line 975" in bundle["text/plain"]
    assert "line 974" not in bundle["text/plain"]
    assert step.result is not None
    assert step.result.stdout == stdout
    assert note not in render.step_bundle(step, max_lines=0)["text/plain"]


def test_code_step_cuts_giant_lines() -> None:
    bundle = render.step_bundle(_code(stdout="x" * 50_000, return_code=0))
    assert len(bundle["text/plain"]) < 3_000 + 200
    assert "48,000 more characters" in bundle["text/plain"]


def test_code_step_hidden_code() -> None:
    bundle = render.step_bundle(_code("secret()\n", stdout="out\n", return_code=0), show_code=False)
    assert "secret" not in bundle["text/html"] + bundle["text/plain"]
    assert bundle["text/plain"] == "out"
    empty = render.step_bundle(_code("quiet()\n", return_code=0), show_code=False)
    assert empty == {"text/html": "", "text/plain": ""}


# --- edit steps -------------------------------------------------------------------------------


def test_edit_view_shows_the_content() -> None:
    step = EditStep("t", "view", "notes.txt", result=Execution(stdout="hello\n<b>world</b>\n"))
    bundle = render.step_bundle(step)
    text = assert_html_bundle(bundle)
    assert "✎ View notes.txt" in text
    assert "<b>world</b>" in text
    assert '<pre class="claude-magic-file-view"' in bundle["text/html"]
    assert bundle["text/plain"] == "[View notes.txt]\nhello\n<b>world</b>"


def test_edit_create_highlights_by_extension() -> None:
    step = EditStep("t", "create", "pkg/mod.py", file_text="def f():\n    return 1\n", result=Execution())
    bundle = render.step_bundle(step)
    assert_html_bundle(bundle)
    assert 'var(--jp-mirror-editor-keyword-color,#008000); font-weight: bold">def</span>' in bundle["text/html"]
    assert ">pkg/mod.py</summary>" in bundle["text/html"]
    assert bundle["text/plain"] == "[Create pkg/mod.py]\n│ def f():\n│     return 1"
    plain_text = render.step_bundle(EditStep("t", "create", "notes.unknownext", file_text="<x> & y"))
    assert "&lt;x&gt; &amp; y" in plain_text["text/html"]
    update = render.step_bundle(EditStep("t", "create", "a.txt", file_text="x", is_file_update=True))
    assert update["text/plain"].startswith("[Overwrite a.txt]")


def test_edit_str_replace_builds_a_coloured_diff() -> None:
    step = EditStep("t", "str_replace", "a.txt", old_str="hello\nsame", new_str="bye\nsame", result=Execution())
    bundle = render.step_bundle(step)
    assert_html_bundle(bundle)
    assert bundle["text/plain"] == "[Edit a.txt]\n@@ -1,2 +1,2 @@\n-hello\n+bye\n same"
    assert (
        '<span class="claude-magic-diff-del" style="color: var(--jp-error-color1, #d32f2f)">-hello</span>'
        in (bundle["text/html"])
    )
    assert (
        '<span class="claude-magic-diff-add" style="color: var(--jp-success-color1, #2e7d32)">+bye</span>'
        in (bundle["text/html"])
    )


def test_edit_str_replace_prefers_the_servers_diff_lines() -> None:
    step = EditStep("t", "str_replace", "a.txt", old_str="x", new_str="y", diff_lines=(f"-{IMG}", f"+{SCRIPT}"))
    bundle = render.step_bundle(step)
    text = assert_html_bundle(bundle)
    assert f"-{IMG}" in text
    assert f"+{SCRIPT}" in text


def test_edit_errors_and_hostile_paths() -> None:
    step = EditStep(
        "t",
        "view",
        f"dir/{IMG}.txt",
        result=Execution(error_code="file_not_found", error_message=f"No such file: {SCRIPT}"),
    )
    bundle = render.step_bundle(step)
    text = assert_html_bundle(bundle)
    assert f"✎ View dir/{IMG}.txt" in text
    assert f"Tool error: the file does not exist in the sandbox (file_not_found): No such file: {SCRIPT}" in text
    create = render.step_bundle(EditStep("t", "create", f"{IMG}.py", file_text=HOSTILE))
    assert_html_bundle(create)


# --- files ------------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def test_image_round_trips_base64() -> None:
    file = OutputFile("file_1", "chart.png", "image/png", len(PNG), data=PNG)
    bundle = render.file_bundle(file)
    assert set(bundle) == {"image/png", "text/plain"}
    assert base64.b64decode(bundle["image/png"]) == PNG
    assert bundle["text/plain"] == "<image/png 'chart.png', 264 bytes>"
    saved = render.file_bundle(
        OutputFile("file_1", "chart.png", "image/png", 1, Path("/nb/out/chart.png"), PNG), link_base=Path("/nb")
    )
    assert saved["text/plain"] == "<image/png 'chart.png', 264 bytes, saved to out/chart.png>"


def test_file_link_is_relative_quoted_and_escaped(tmp_path: Path) -> None:
    name = 'a b"<x>#?%.csv'
    file = OutputFile("file_2", name, "text/csv", 12_595, tmp_path / "out" / name)
    bundle = render.file_bundle(file, link_base=tmp_path)
    assert_html_bundle(bundle)
    markup = bundle["text/html"]
    assert '<a href="out/a%20b%22%3Cx%3E%23%3F%25.csv" download>a b&#34;&lt;x&gt;#?%.csv</a>' in markup
    assert "(12.3 KB)" in markup
    assert str(tmp_path) not in markup
    assert bundle["text/plain"] == f"{name} (12.3 KB), saved to out/{name}"


def test_file_link_never_absolute(tmp_path: Path) -> None:
    file = OutputFile("f", "x.csv", "text/csv", 10, Path("/elsewhere/x.csv"))
    markup = render.file_bundle(file, link_base=tmp_path)["text/html"]
    assert 'href="../' in markup
    assert 'href="/' not in markup
    relative = render.file_bundle(OutputFile("f", "x.csv", "text/csv", 10, Path("out/x.csv")))["text/html"]
    assert 'href="out/x.csv"' in relative
    scheme = render.file_bundle(OutputFile("f", "j", "text/plain", 1, Path("javascript:alert(1)")))["text/html"]
    assert 'href="javascript%3Aalert%281%29"' in scheme
    assert_inert(scheme)


def test_file_not_saved_and_failed_download() -> None:
    unsaved = render.file_bundle(OutputFile("f", "big.bin", "application/octet-stream", 2_621_440))
    assert unsaved["text/plain"] == "big.bin (2.5 MB, not saved)"
    assert "<a " not in unsaved["text/html"]
    failed = render.file_bundle(OutputFile("f", IMG, "image/png", 5, error=f"HTTP 404 {SCRIPT}"))
    text = assert_html_bundle(failed)
    assert text == f"⚠ Could not download {IMG}: HTTP 404 {SCRIPT}"
    assert failed["text/plain"] == f"[Could not download {IMG}: HTTP 404 {SCRIPT}]"
    assert "var(--jp-rendermime-error-background, #fdd)" in failed["text/html"]


# --- turns ------------------------------------------------------------------------------------


def _turn(**overrides: object) -> Turn:
    options: dict[str, object] = {
        "prompt": "analyse",
        "steps": (
            TextStep(f"I'll look. {IMG}"),
            _code("print(1)\n", stdout="1\n", return_code=0),
            EditStep("t", "create", "n.txt", file_text="hi\n", result=Execution()),
        ),
        "model": "claude-sonnet-4-5",
        "files": (
            OutputFile("f1", "chart.png", "image/png", len(PNG), data=PNG),
            OutputFile("f2", f"{IMG}.csv", "text/csv", 2048, Path(f"out/{IMG}.csv")),
        ),
        "usage": Usage(12_345, 678, 1_000, 0, 2),
        "container": ContainerInfo("container_abc", datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)),
        "duration": 75.2,
        "segments": 3,
        "container_restarted": True,
        "notices": (f"re-uploaded data.csv {SCRIPT}",),
        "stop_reason": "end_turn",
    }
    options.update(overrides)
    return Turn(**options)  # type: ignore[arg-type]


def test_turn_footer_golden() -> None:
    bundle = render.turn_footer_bundle(_turn())
    cost = pricing.estimate_cost("claude-sonnet-4-5", Usage(12_345, 678, 1_000, 0, 2), 75.2)
    assert cost is not None
    assert bundle["text/plain"] == (
        "claude-sonnet-4-5 · new sandbox container_abc, kept 30 days, idle-checkpointed"
        " · 12,345 tokens in / 678 out (1,000 cached) · 2 code runs · 1 min 15 s"
        f" · 2 pauses · ≈ ${cost:.4f} estimated\n"
        f"ℹ re-uploaded data.csv {SCRIPT}"
    )
    text = assert_html_bundle(bundle)
    assert "estimated" in text
    assert SCRIPT in text


def test_turn_footer_variants() -> None:
    local = datetime(2030, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    plain = render.turn_footer_bundle(
        _turn(
            model="some-other-model",
            container=ContainerInfo("c", local),
            segments=1,
            container_restarted=False,
            notices=(),
            stop_reason="max_tokens",
            duration=3.25,
            usage=Usage(1, 2),
        )
    )["text/plain"]
    assert plain == (
        "some-other-model · sandbox c, kept 30 days, idle-checkpointed · 1 tokens in / 2 out · 3.2 s"
        " · stop reason: max_tokens · cost unknown"
    )
    once = render.turn_footer_bundle(_turn(segments=2, container=None))["text/plain"]
    assert "· 1 pause ·" in once
    assert "container container" not in once
    assert "expires" not in plain and "2030" not in plain  # expires_at is a rolling value, not the end


def test_turn_footer_names_the_container_briefly_and_truthfully() -> None:
    turn = _turn(
        container=ContainerInfo("container_011CRtY7uJk3sV9mPq2WxZ4b", datetime(2030, 1, 1)),
        notices=(),
        container_restarted=False,
    )
    bundle = render.turn_footer_bundle(turn)
    assert "· sandbox container_…2WxZ4b, kept 30 days, idle-checkpointed" in bundle["text/plain"]
    assert "container container" not in bundle["text/plain"] and "2030" not in bundle["text/plain"]
    assert 'title="container_011CRtY7uJk3sV9mPq2WxZ4b"' in bundle["text/html"]
    assert len(bundle["text/plain"]) < 190  # one line at 1,400 px (the browser test measures it)


def test_turn_footer_repeats_no_notice_already_shown() -> None:
    turn = _turn(notices=("re-uploaded data.csv", "stopped after 5 pauses"))
    bundle = render.turn_footer_bundle(turn, shown_notices={"re-uploaded data.csv"})
    assert bundle["text/plain"].count("re-uploaded") == 0
    assert bundle["text/plain"].endswith("ℹ stopped after 5 pauses")
    assert bundle["text/html"].count("claude-magic-notice") == 1


def test_turn_bundle_has_everything_and_is_inert() -> None:
    turn = _turn()
    bundle = render.turn_bundle(turn)
    text = assert_inert(bundle["text/html"], allowed=TEXT_TAGS)
    markup = bundle["text/html"]
    assert f"I'll look. {IMG}" in text
    assert f'src="data:image/png;base64,{base64.b64encode(PNG).decode()}"' in markup
    assert "download>&lt;img src=x onerror=alert(1)&gt;.csv</a>" in markup
    assert "estimated" in text
    plain = bundle["text/plain"]
    assert plain.startswith(f"I'll look. {IMG}\n\n[Python]\n│ print(1)\n1\n\n[Create n.txt]\n│ hi\n\n")
    assert "<image/png 'chart.png', 264 bytes>" in plain
    assert render.turn_bundle(turn) == bundle  # deterministic


def test_turn_repr_mimebundle_honours_include_exclude() -> None:
    turn = _turn()
    assert set(turn._repr_mimebundle_()) == {"text/html", "text/plain"}
    assert set(turn._repr_mimebundle_(include={"text/plain"})) == {"text/plain"}
    assert set(turn._repr_mimebundle_(exclude={"text/html"})) == {"text/plain"}


# --- uploads, container, status ---------------------------------------------------------------


def _uploaded(name: str, size: int, file_id: str, *, reused: bool = False, description: str = "") -> UploadedFile:
    return UploadedFile(name, file_id, size, "0" * 64, "text/csv", description=description, reused=reused)


def test_upload_batch_table_golden() -> None:
    batch = UploadBatch(
        (
            _uploaded("sales.csv", 1234, "file_011", description="120 rows × 3 columns\nregion, month, revenue"),
            _uploaded("big.parquet", 12_897_484, "file_2", reused=True),
        )
    )
    bundle = render.upload_batch_bundle(batch)
    assert bundle["text/plain"] == (
        "1 file uploaded, 1 already uploaded\n"
        "sales.csv     1.2 KB  file_011  uploaded\n"
        "    120 rows × 3 columns\n"
        "    region, month, revenue\n"
        "big.parquet  12.3 MB  file_2    already uploaded"
    )
    text = assert_html_bundle(bundle)
    assert "<th" in bundle["text/html"]
    assert "already uploaded" in text
    assert "120 rows × 3 columns" in text
    assert set(batch._repr_mimebundle_(include={"text/plain"})) == {"text/plain"}


def test_uploaded_files_hostile_and_empty() -> None:
    files = [_uploaded(f"{IMG}.csv", 10, f"file_{SCRIPT}", description=HOSTILE)]
    bundle = render.uploaded_files_bundle(files, title=f"Files {SCRIPT}")
    text = assert_html_bundle(bundle)
    assert f"Files {SCRIPT}" in text
    assert f"{IMG}.csv" in text
    assert HOSTILE in text
    assert render.uploaded_files_bundle([])["text/plain"] == "No files uploaded yet: upload some with %claude_upload."
    assert render.upload_batch_bundle(UploadBatch(()))["text/plain"] == "No files to upload."
    titles = {
        render.upload_batch_bundle(UploadBatch((_uploaded("a", 1, "f", reused=True),)))["text/plain"].split("\n")[0],
        render.upload_batch_bundle(UploadBatch((_uploaded("a", 1, "f"), _uploaded("b", 1, "g"))))["text/plain"].split(
            "\n"
        )[0],
    }
    assert titles == {"1 file already uploaded", "2 files uploaded"}


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (999, "999 bytes"),
        (1023, "1,023 bytes"),
        (1024, "1.0 KB"),
        (int(2.5 * 2**20), "2.5 MB"),
        (3 * 2**40, "3.0 TB"),
    ],
)
def test_sizes(size: int, shown: str) -> None:
    assert render.uploaded_files_bundle([_uploaded("a", size, "f")])["text/plain"].split()[1:3] == shown.split()


def test_container_progress_and_error_bundles() -> None:
    assert render.container_bundle(None)["text/plain"] == "No container yet: the next %%claude_exec starts one."
    info = ContainerInfo(f"c_{SCRIPT}", datetime(2030, 1, 1, 0, 0))
    bundle = render.container_bundle(info)
    assert bundle["text/plain"] == (
        f"Container c_{SCRIPT}: files stay between cells. After about 5 minutes idle it is checkpointed and the next"
        " cell restores it, for up to 30 days after it started. (The API's rolling expires_at is"
        " 2030-01-01T00:00:00Z; it moves with each request.)"
    )
    assert assert_html_bundle(bundle) == bundle["text/plain"]
    assert "rolling" not in render.container_bundle(ContainerInfo("c"))["text/plain"]

    progress = render.progress_bundle("⏳ Claude is working… 3 steps, 12 s")
    assert progress["text/plain"] == "⏳ Claude is working… 3 steps, 12 s"
    assert assert_html_bundle(progress) == progress["text/plain"]

    error = render.error_bundle(f"Failed: {IMG}")
    assert error["text/plain"] == f"Failed: {IMG}"
    assert assert_html_bundle(error) == f"⚠ Failed: {IMG}"
    assert 'class="claude-magic-error"' in error["text/html"]


def test_uploaded_files_state_override() -> None:
    bundle = render.uploaded_files_bundle([_uploaded("a.csv", 10, "file_1")], title="Deleted", state="deleted")
    assert bundle["text/plain"] == "Deleted\na.csv  10 bytes  file_1  deleted"


@dataclass(frozen=True, slots=True)
class _Remote:
    id: str
    filename: str
    mime_type: str
    size: int
    downloadable: bool
    created_at: datetime | None = None


def test_remote_files_table() -> None:
    files = [
        _Remote("file_1", "sales.csv", "text/csv", 2048, False, datetime(2030, 1, 1, tzinfo=UTC)),
        _Remote(f"file_{SCRIPT}", f"{IMG}.png", "image/png", 10, True),
    ]
    bundle = render.remote_files_bundle(files)
    assert bundle["text/plain"] == (
        "2 files on the Files API\n"
        "sales.csv                           2.0 KB  file_1                          text/csv   "
        "2030-01-01T00:00:00Z  upload (not downloadable)\n"
        f"{IMG}.png  10 bytes  file_{SCRIPT}  image/png                        downloadable"
    )
    text = assert_html_bundle(bundle)
    assert SCRIPT in text
    assert render.remote_files_bundle([])["text/plain"] == "0 files on the Files API"


def test_notice_and_export_bundles() -> None:
    notice = render.notice_bundle(f"Re-uploaded {IMG}")
    assert notice["text/plain"] == f"ℹ Re-uploaded {IMG}"
    assert assert_html_bundle(notice) == notice["text/plain"]

    cells = ["import os\nos.environ.setdefault('INPUT_DIR', 'claude_inputs')", f"!echo '{SCRIPT}'"]
    bundle = render.export_bundle(cells, inputs=[Path("claude_inputs/sales.csv")], script="analysis.py")
    assert bundle["text/plain"] == (
        "Exported 2 cells: the code replaces this cell's source where the frontend allows, as %load does"
        " (its first line keeps the command, commented out).\n"
        "Copied inputs: claude_inputs/sales.csv\n"
        "Also wrote analysis.py\n\n" + "\n\n# %%\n".join(cells)
    )
    text = assert_html_bundle(bundle)
    assert f"!echo '{SCRIPT}'" in text
    assert '<details class="claude-magic-code">' in bundle["text/html"]
    assert render.export_bundle([])["text/plain"].startswith("Exported 0 cells: ")


def test_select() -> None:
    bundle = {"text/html": "h", "text/plain": "p", "image/png": "i"}
    assert render.select(bundle, None, None) == bundle
    assert render.select(bundle, {"text/plain", "image/png"}, None) == {"text/plain": "p", "image/png": "i"}
    assert render.select(bundle, None, {"text/html"}) == {"text/plain": "p", "image/png": "i"}
    assert render.select(bundle, {"text/html", "text/plain"}, {"text/html"}) == {"text/plain": "p"}
    assert render.select(bundle, [], []) == bundle


def test_every_bundle_has_plain_text_and_only_claude_magic_classes() -> None:
    bundles = [
        render.step_bundle(TextStep("x")),
        render.step_bundle(_code(stdout="x", return_code=0)),
        render.step_bundle(EditStep("t", "view", "a", result=Execution(stdout="x"))),
        render.file_bundle(OutputFile("f", "a.png", "image/png", 1, data=b"x")),
        render.file_bundle(OutputFile("f", "a.csv", "text/csv", 1, Path("a.csv"))),
        render.turn_bundle(_turn()),
        render.turn_footer_bundle(_turn()),
        render.upload_batch_bundle(UploadBatch((_uploaded("a", 1, "f"),))),
        render.container_bundle(None),
        render.progress_bundle("x"),
        render.error_bundle("x"),
        render.notice_bundle("x"),
        render.export_bundle(["x = 1"]),
        render.remote_files_bundle([_Remote("f", "a", "text/csv", 1, True)]),
    ]
    for bundle in bundles:
        assert "text/plain" in bundle
        assert all(isinstance(value, str) for value in bundle.values())
        for tag, attrs in _parse(bundle.get("text/html", "")).tags:
            for name, value in attrs:
                if name == "class":
                    assert all(c.startswith("claude-magic-") for c in (value or "").split()), tag


# --- pricing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "prices"),
    [
        ("claude-opus-4-5-20251101", (5.0, 25.0)),
        ("claude-opus-4-6", (5.0, 25.0)),
        ("claude-opus-5", (5.0, 25.0)),
        ("claude-opus-4-1-20250805", (15.0, 75.0)),
        ("claude-opus-4-20250514", (15.0, 75.0)),
        ("claude-3-opus-20240229", (15.0, 75.0)),
        ("claude-sonnet-4-5", (3.0, 15.0)),
        ("claude-3-7-sonnet-20250219", (3.0, 15.0)),
        ("claude-sonnet-5", (3.0, 15.0)),
        ("claude-haiku-4-5-20251001", (1.0, 5.0)),
        ("claude-3-5-haiku-20241022", (0.8, 4.0)),
        ("claude-3-haiku-20240307", (0.25, 1.25)),
        ("anthropic.claude-opus-4-5-20251101-v1:0", (5.0, 25.0)),
        ("haiku", (1.0, 5.0)),
    ],
)
def test_model_prices(model: str, prices: tuple[float, float]) -> None:
    price = pricing.model_price(model)
    assert price is not None
    assert (price.input, price.output) == prices


def test_estimate_cost() -> None:
    assert pricing.model_price("gpt-4o") is None
    assert pricing.estimate_cost("gpt-4o", Usage(1, 1), 1.0) is None
    tokens_only = pricing.estimate_cost("claude-sonnet-4-5", Usage(1_000_000, 100_000, 1_000_000, 1_000_000), 999.0)
    assert tokens_only == pytest.approx(3.0 + 1.5 + 0.3 + 3.75)
    minimum = pricing.estimate_cost("claude-haiku-4-5", Usage(code_execution_requests=1), 10.0)
    assert minimum == pytest.approx(0.05 / 12)  # five minutes at $0.05/hour
    hour = pricing.estimate_cost("claude-haiku-4-5", Usage(code_execution_requests=3), 3600.0)
    assert hour == pytest.approx(0.05)


# --- architecture -----------------------------------------------------------------------------


def test_render_imports_light() -> None:
    code = (
        "import sys\n"
        "for name in ('IPython', 'anthropic', 'httpx', 'ipywidgets', 'traitlets'):\n"
        "    sys.modules[name] = None\n"
        "import claude_magic._render\n"
        "assert 'pygments' not in sys.modules, 'pygments imported eagerly'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- issue 10: folding, wide tables, glyphs, the import graph ------------------------------------


def test_long_stdout_shows_its_ends_and_folds_the_middle() -> None:
    stdout = "".join(f"line {n}\n" for n in range(1, 91))
    markup = render.step_bundle(_code(stdout=stdout))["text/html"]
    before, fold, after = markup.partition('<details class="claude-magic-fold">')
    assert fold, markup
    folded, _, tail = after.partition("</details>")
    assert "line 1\n" in before and "line 8<" in before and "line 9\n" not in before
    assert "line 9\n" in folded and "line 86<" in folded
    assert "line 87\n" in tail and "line 90<" in tail
    assert "output: 78 more lines, click to show" in folded or "stdout: 78 more lines, click to show" in folded
    assert_inert(markup)
    plain = render.step_bundle(_code(stdout=stdout))["text/plain"]
    assert plain.count("line ") == 90  # the transcript is not folded
    short = render.step_bundle(_code(stdout="a\nb\n"))["text/html"]
    assert '<details class="claude-magic-fold">' not in short


def test_folded_stdout_still_truncates_with_a_note() -> None:
    stdout = "".join(f"line {n}\n" for n in range(1, 501))
    markup = render.step_bundle(_code(stdout=stdout), max_lines=100)["text/html"]
    assert "300 more lines" not in markup  # the note counts what was left out: 400
    assert "… 400 more lines (full text in the Turn)" in markup
    assert "line 1\n" in markup and "line 500<" in markup and "line 200\n" not in markup


def test_stdout_and_stderr_are_labelled_monospace_boxes() -> None:
    markup = render.step_bundle(_code(stdout="x\n", stderr="y\n"))["text/html"]
    assert '<div class="claude-magic-label"' in markup and ">stdout</div>" in markup and ">stderr</div>" in markup
    for part in ("stdout", "stderr", "source"):
        style = markup.split(f'class="claude-magic-{part}" style="', 1)[1].split('"', 1)[0]
        assert "monospace" in style and "border-left" in style if part != "source" else "monospace" in style


def test_a_wide_dataframe_description_folds_its_columns() -> None:
    columns = ", ".join(f"col{n} (int64)" for n in range(50))
    wide = UploadedFile(
        "wide.parquet",
        "file_1",
        10,
        "0" * 64,
        "application/vnd.apache.parquet",
        description=f"DataFrame, 3 rows × 50 columns: {columns}",
    )
    narrow = UploadedFile(
        "n.csv", "file_2", 10, "1" * 64, "text/csv", description="DataFrame, 3 rows × 2 columns: a, b"
    )
    markup = render.uploaded_files_bundle([wide, narrow])["text/html"]
    assert '<details class="claude-magic-columns"><summary' in markup
    assert "DataFrame, 3 rows × 50 columns: show all</summary>" in markup
    assert markup.count("<details") == 1  # the narrow one stays as it is
    assert_inert(markup)


def test_file_links_use_a_glyph_every_font_has() -> None:
    markup = render.file_bundle(OutputFile("file_1", "report.pdf", "application/pdf", 3, path=Path("out/report.pdf")))
    assert "📄" not in markup["text/html"]
    assert all(ord(char) < 0x2600 for char in markup["text/html"])  # nothing from the emoji blocks


def test_the_renderer_and_pricing_import_results_for_types_only() -> None:
    """The circle results → render → pricing → results is gone: at run time only results imports render."""
    root = Path(__file__).resolve().parent.parent / "claude_magic"
    import ast

    for path in [*sorted((root / "_render").glob("*.py")), root / "_pricing.py", root / "_format.py"]:
        tree = ast.parse(path.read_text())
        guarded = {
            id(node)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
            for node in ast.walk(block)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and id(node) not in guarded:
                assert node.module != "claude_magic.results", (path.name, ast.unparse(node))


def test_footer_and_container_say_how_long_the_sandbox_really_lasts() -> None:
    from datetime import UTC, datetime

    from claude_magic.results import ContainerInfo, Turn

    seen = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    info = ContainerInfo("container_011CRtY7uJk3sV9mPq2WxZ4b", datetime(2026, 12, 1, 9, 5, tzinfo=UTC), seen)
    footer = render.turn_footer_bundle(Turn(prompt="p", steps=(), model="claude-sonnet-5", container=info))
    assert "kept until Dec 31, idle-checkpointed" in footer["text/plain"]
    assert "09:05" not in footer["text/plain"]  # the rolling expires_at is not shown as the end
    shown = render.container_bundle(info)["text/plain"]
    assert "until at least 2026-12-31" in shown and "rolling" not in shown.split("until at least")[0][-5:]


def test_footer_shows_the_session_total_once_there_is_more_than_one_turn() -> None:
    from claude_magic.results import SessionUsage, Turn, Usage

    total = SessionUsage(turns=3, usage=Usage(1_000, 100, cache_read_input_tokens=3_000), cost=0.1234)
    footer = render.turn_footer_bundle(
        Turn(prompt="p", steps=(), model="claude-sonnet-5", cost=0.01, session_usage=total)
    )
    assert "≈ $0.0100 estimated" in footer["text/plain"]
    assert "session $0.1234 over 3 turns, 75% of input from cache" in footer["text/plain"]
    first = render.turn_footer_bundle(
        Turn(prompt="p", steps=(), model="claude-sonnet-5", session_usage=SessionUsage(turns=1, cost=0.01))
    )
    assert "session" not in first["text/plain"]


def test_file_lexers_are_picked_by_extension() -> None:
    from claude_magic._render._highlight import _lexer_name_for, highlight

    assert [_lexer_name_for(name) for name in ("a.py", "b.CSV", "run.sh", "c\\d.json", "x.rs", "x.weird")] == [
        "python",
        "text",
        "bash",
        "json",
        "rust",
        "text",
    ]
    python = str(highlight("def f():\n    return 1", filename="/tmp/cell_1.py"))
    assert "font-weight: bold" in python and "def" in python
    text = str(highlight("a,b\n1,<2>", filename="table.csv"))
    assert text == "a,b\n1,&lt;2&gt;"
