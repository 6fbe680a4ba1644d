"""An unchanged DataFrame is recognised from its content without serialising it; any change is seen."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from claude_magic._local_files import frame_fingerprint, prepare
from claude_magic._session import Session
from claude_magic.testing import StandIn


def sample() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "count": rng.integers(0, 100, 500),
            "amount": rng.normal(10, 2, 500).round(2),
            "tier": pd.Categorical(rng.choice(["a", "b", "c"], 500)),
            "name": [f"customer {n}" for n in range(500)],
        }
    )


def test_an_unchanged_frame_reuses_the_held_bytes_and_sends_nothing(session: Session, standin: StandIn) -> None:
    frame = sample()
    first = session.upload(frame, name="sales").files[0]
    held = prepare(frame, name="sales", known=session.known_frame)[0]
    sent = standin.uploaded_bytes
    again = session.upload(frame.copy(), name="sales").files[0]  # an equal copy: recognised by content
    assert again.reused and again.file_id == first.file_id
    assert standin.uploaded_bytes == sent  # 0 bytes sent
    # Not serialised again: the file handed back holds the very bytes kept from the first upload.
    assert prepare(frame.copy(), name="sales", known=session.known_frame)[0].data is held.data
    assert held.sha256 == first.sha256


def _cell(frame: pd.DataFrame) -> None:
    frame.iloc[123, 1] += 0.01


def _dtype(frame: pd.DataFrame) -> None:
    frame["count"] = frame["count"].astype("int32")  # same values, another dtype


def _column_name(frame: pd.DataFrame) -> None:
    frame.columns = ["amount_usd" if column == "amount" else column for column in frame.columns]


def _index(frame: pd.DataFrame) -> None:
    frame.index = frame.index + 1


def _index_name(frame: pd.DataFrame) -> None:
    frame.index.name = "row"


def _categories(frame: pd.DataFrame) -> None:
    frame["tier"] = frame["tier"].cat.add_categories(["d"])  # same values, one more category


def _string(frame: pd.DataFrame) -> None:
    frame.loc[7, "name"] = "customer 8"


@pytest.mark.parametrize("change", [_cell, _dtype, _column_name, _index, _index_name, _categories, _string])
def test_a_changed_frame_is_always_uploaded_again(
    session: Session, standin: StandIn, change: Callable[[pd.DataFrame], None]
) -> None:
    frame = sample()
    first = session.upload(frame, name="sales").files[0]
    changed = frame.copy()
    change(changed)
    sent = standin.uploaded_bytes
    again = session.upload(changed, name="sales").files[0]
    assert not again.reused and again.sha256 != first.sha256 and again.file_id != first.file_id
    assert standin.uploaded_bytes > sent
    assert frame_fingerprint(changed, "parquet") != frame_fingerprint(frame, "parquet")


def test_fingerprints_refuse_to_vouch_for_mixed_object_columns_and_differ_by_format() -> None:
    mixed = pd.DataFrame({"x": [1, "1", 2.5]}, dtype=object)  # 1 and "1" hash alike in pandas
    assert frame_fingerprint(mixed, "csv") is None
    frame = sample()
    assert frame_fingerprint(frame, "csv") != frame_fingerprint(frame, "parquet")


def test_a_held_frame_is_still_checked_on_the_server(session: Session, standin: StandIn) -> None:
    frame = sample()
    first = session.upload(frame, name="sales").files[0]
    del standin.files[first.file_id]  # the server lost it: the held bytes go again
    again = session.upload(frame, name="sales").files[0]
    assert not again.reused and again.file_id != first.file_id and again.sha256 == first.sha256
    assert standin.files[again.file_id].data == prepare(frame, name="sales")[0].data
