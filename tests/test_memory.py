"""Memory is bounded: upload sources and turn images are released or spilled to disk, never kept forever."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from claude_magic.testing import Script, StandIn

MAKE_PNG = """
import os
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
plt.figure(figsize=(6, 4))
plt.imshow(__import__("numpy").random.default_rng(1).random((300, 300)))
plt.savefig(os.path.join(os.environ["OUTPUT_DIR"], "noise.png"))
"""


def frame(seed: int, rows: int = 40_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.random(rows), "y": rng.random(rows)})


def test_in_memory_sources_are_capped_spilled_and_still_reuploadable(
    make_session: Any, standin: StandIn, tmp_path: Path
) -> None:
    session = make_session(memory_limit=1_000_000)
    uploaded = [session.upload(frame(seed), name=f"part{seed}").files[0] for seed in range(4)]
    assert all(entry.size > 400_000 for entry in uploaded)
    assert session._files.bytes_in_memory <= 1_000_000
    spilled = list((tmp_path / "cache" / "sources").iterdir())
    assert spilled  # the rest is on disk in the cache folder
    standin.expire_file(uploaded[0].file_id)  # the oldest, spilled one must still be re-uploadable
    standin.set_script(Script.from_dict({"replies": [{"steps": [{"bash": 'ls "$INPUT_DIR"'}]}]}))
    turn = session.run("List the inputs")
    assert turn.code[0].result is not None and "part0.parquet" in turn.code[0].result.stdout
    assert any("uploaded it again" in notice for notice in turn.notices)


def test_delete_and_replace_release_what_was_kept(make_session: Any, standin: StandIn, tmp_path: Path) -> None:
    session = make_session(memory_limit=10_000_000)
    session.upload(frame(1), name="sales")
    assert session._files.bytes_in_memory > 0
    session.upload(frame(2), name="sales")  # same name, new bytes: replaces
    assert len(list(session._files.held())) == 1
    session.delete("sales.parquet")
    assert session._files.bytes_in_memory == 0 and list(session._files.held()) == []


def test_turn_images_past_the_limit_keep_only_their_path(make_session: Any, standin: StandIn) -> None:
    session = make_session(memory_limit=400_000)
    standin.set_script(Script.from_dict({"replies": [{"match": "", "steps": [{"python": MAKE_PNG}]}]}))
    for _ in range(4):
        session.run("Plot noise")
    sizes = [turn.files[0].size for turn in session.turns]
    assert sum(sizes) > 400_000  # more than the limit was produced
    assert session.memory_held <= 400_000
    newest, oldest = session.turns[-1].files[0], session.turns[0].files[0]
    assert newest.data is not None and oldest.data is None
    assert oldest.path is not None and oldest.path.read_bytes()[:4] == b"\x89PNG"
    code = session.turns[0].code[0]
    assert code.result is not None and code.result.files[0].data is None
