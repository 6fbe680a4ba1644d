"""The upload registry is safe across kernels: shared, scoped, atomic, and it never holds a credential."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from claude_magic._registry import UploadRegistry
from claude_magic.results import UploadedFile
from claude_magic.testing import StandIn


def entry(number: int, name: str = "data.csv") -> UploadedFile:
    return UploadedFile(
        name=name, file_id=f"file_{number:04d}", size=number, sha256=f"{number:064x}", media_type="text/csv"
    )


def test_two_kernels_on_one_key_keep_each_others_entries(tmp_path: Path) -> None:
    first = UploadRegistry(tmp_path, fingerprint="key-a", base_url="https://api.example")
    second = UploadRegistry(tmp_path, fingerprint="key-a", base_url="https://api.example")  # opened before any write
    first.put(entry(1))
    second.put(entry(2))
    first.put(entry(3))
    later = UploadRegistry(tmp_path, fingerprint="key-a", base_url="https://api.example")
    assert sorted(item.file_id for item in later) == ["file_0001", "file_0002", "file_0003"]
    assert second.get(entry(3).sha256, "data.csv") == entry(3)  # each sees the other's writes at once
    assert first.remove("file_0002") == entry(2) and second.by_file_id("file_0002") is None


def test_entries_are_scoped_by_credential_and_server(tmp_path: Path) -> None:
    UploadRegistry(tmp_path, fingerprint="key-a", base_url="https://api.example").put(entry(1))
    assert list(UploadRegistry(tmp_path, fingerprint="key-b", base_url="https://api.example")) == []
    assert list(UploadRegistry(tmp_path, fingerprint="key-a", base_url="http://127.0.0.1:9")) == []
    assert len(UploadRegistry(tmp_path, fingerprint="key-a", base_url="https://api.example/")) == 1


def test_concurrent_writers_in_separate_processes_lose_nothing(tmp_path: Path) -> None:
    writer = (
        "import sys\n"
        "from pathlib import Path\n"
        "from claude_magic._registry import UploadRegistry\n"
        "from claude_magic.results import UploadedFile\n"
        "start = int(sys.argv[1])\n"
        "registry = UploadRegistry(Path(sys.argv[2]), fingerprint='k', base_url='u')\n"
        "for n in range(start, start + 40):\n"
        "    registry.put(UploadedFile(f'f{n}.csv', f'file_{n}', n, f'{n:064x}', 'text/csv'))\n"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", writer, str(start), str(tmp_path)]) for start in range(0, 160, 40)
    ]
    assert [process.wait(timeout=120) for process in processes] == [0, 0, 0, 0]
    assert len(UploadRegistry(tmp_path, fingerprint="k", base_url="u")) == 160


def test_the_registry_never_holds_the_key_and_sessions_on_other_keys_do_not_share(
    make_session: Any, standin: StandIn, monkeypatch: Any
) -> None:
    frame = pd.DataFrame({"a": [1, 2, 3]})
    first = make_session().upload(frame, name="a").files[0]
    monkeypatch.setenv("ANTHROPIC_API_KEY", "another-key")
    other = make_session()
    again = other.upload(frame, name="a").files[0]
    assert not again.reused and again.file_id != first.file_id  # another account: uploaded afresh
    database = Path(other.registry.path)
    for path in database.parent.iterdir():
        if path.is_file():
            data = path.read_bytes()
            assert b"test-key" not in data and b"another-key" not in data


def test_a_json_manifest_from_an_earlier_version_is_taken_over(tmp_path: Path) -> None:
    from dataclasses import asdict

    from claude_magic._registry import scope_of

    legacy = tmp_path / f"uploads-{scope_of('k', 'u')}.json"
    legacy.write_text(json.dumps({"version": 1, "files": [asdict(entry(7))]}))
    registry = UploadRegistry(tmp_path, fingerprint="k", base_url="u")
    assert list(registry) == [entry(7)] and not legacy.exists()


def test_first_opens_from_many_threads_never_find_the_database_locked(tmp_path: Path) -> None:
    """The registry and the map store opening one new database at once (a map's first uploads) must both succeed."""
    import threading

    from claude_magic._map_store import MapStore

    for trial in range(25):
        folder = tmp_path / f"cache{trial}"
        failures: list[BaseException] = []

        def open_and_write(number: int, folder: Path = folder, failures: list[BaseException] = failures) -> None:
            try:
                if number % 2:
                    UploadRegistry(folder, fingerprint="k", base_url="u").put(entry(number))
                else:
                    folder.mkdir(parents=True, exist_ok=True)
                    MapStore(folder / "uploads.sqlite3", "scope")
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=open_and_write, args=(number,)) for number in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == [], failures
        assert len(UploadRegistry(folder, fingerprint="k", base_url="u")) == 4
