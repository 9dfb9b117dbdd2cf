"""What a data file parses to is kept beside the bytecode (kernel/data_yaml.py) and read back as
the very same data: every shipped file, dates and key order included. An edited file is parsed
afresh; a damaged, truncated, misplaced or foreign entry is never believed; nothing is kept where
bytecode would not be written; processes writing one entry at once leave one whole entry."""

from __future__ import annotations

import marshal
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from kernel.data_yaml import cache_path, load_data_yaml
from tests.test_data_yaml import DATA_FILES, ROOT

DATED = """\
published: 2025-03-01
reviewed: 2025-03-01 10:30:00
stamped: 2025-03-01T10:30:00.25+01:00
pairs: !!omap [{b: 1}, {a: 2}]
flags: [yes, no, 1, 1.0, ~, "1"]
z: last
a: first
"""


@pytest.fixture
def cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Entries under a folder of this test's own, written as bytecode would be."""
    monkeypatch.setattr(sys, "pycache_prefix", str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    return tmp_path / "assure-data-yaml"


def _pure(text: str) -> object:
    return yaml.load(text, Loader=yaml.SafeLoader)


@pytest.mark.parametrize("relative", DATA_FILES, ids=str)
def test_a_shipped_file_reads_back_from_its_entry_as_the_same_data(
    relative: Path, cache_folder: Path
) -> None:
    text = (ROOT / relative).read_text("utf-8")
    first = load_data_yaml(text)
    entry = cache_path(text)
    assert entry is not None
    assert entry.parent == cache_folder
    assert entry.exists()
    # repr tells True from 1, a date from its string and keeps key order, where == would not.
    assert repr(load_data_yaml(text)) == repr(first) == repr(_pure(text))


def test_dates_timestamps_pairs_and_types_survive_the_entry(cache_folder: Path) -> None:
    load_data_yaml(DATED)
    again = load_data_yaml(DATED)
    assert repr(again) == repr(_pure(DATED))
    assert list(again) == ["published", "reviewed", "stamped", "pairs", "flags", "z", "a"]


def test_an_entry_is_read_without_parsing(cache_folder: Path) -> None:
    text = "answer: 42\n"
    load_data_yaml(text)
    entry = cache_path(text)
    assert entry is not None
    # Whatever the entry holds is what is returned: proof it was read, not the text parsed.
    entry.write_bytes(marshal.dumps((entry.name, {"answer": 41})))
    assert load_data_yaml(text) == {"answer": 41}


def test_an_edited_file_is_parsed_afresh(cache_folder: Path) -> None:
    assert load_data_yaml("limit: 1\n") == {"limit": 1}
    assert load_data_yaml("limit: 2\n") == {"limit": 2}
    assert cache_path("limit: 1\n") != cache_path("limit: 2\n")


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"not marshal at all",
        b"\xff" * 64,
        marshal.dumps(("x", {"a": 1}))[:-3],  # truncated
        marshal.dumps({"a": 1}),  # not a (name, data) pair
        marshal.dumps(("data_yaml.another-text.marshal", {"limit": 666})),  # another text's
    ],
    ids=["empty", "garbage", "bad-bytes", "truncated", "wrong-shape", "foreign"],
)
def test_a_damaged_or_foreign_entry_is_not_believed_and_is_replaced(
    cache_folder: Path, damage: bytes
) -> None:
    text = "limit: 3\nnames: [a, b]\n"
    entry = cache_path(text)
    assert entry is not None
    cache_folder.mkdir(parents=True)
    entry.write_bytes(damage)
    assert load_data_yaml(text) == {"limit": 3, "names": ["a", "b"]}
    name, data = marshal.loads(entry.read_bytes())  # noqa: S302 (this test's own entry)
    assert (name, data) == (entry.name, {"limit": 3, "names": ["a", "b"]})


def test_nothing_is_kept_where_bytecode_would_not_be_written(
    cache_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    assert load_data_yaml("kept: no\n") == {"kept": False}
    assert not cache_folder.exists()


def test_an_unwritable_folder_still_reads_the_file(cache_folder: Path) -> None:
    cache_folder.write_text("a file where the folder would be", "utf-8")
    assert load_data_yaml("still: read\n") == {"still": "read"}


def test_a_malformed_file_is_refused_and_leaves_no_entry(cache_folder: Path) -> None:
    with pytest.raises(yaml.YAMLError):
        load_data_yaml("a: [1, 2")
    with pytest.raises(yaml.YAMLError):
        load_data_yaml("!!python/object/apply:os.system ['true']")
    assert not cache_folder.exists() or not list(cache_folder.iterdir())


def test_many_readers_at_once_leave_one_whole_entry(cache_folder: Path) -> None:
    text = (ROOT / "checks" / "data" / "findings.yaml").read_text("utf-8")
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: repr(load_data_yaml(text)), range(32)))
    assert set(results) == {repr(_pure(text))}
    assert [p.name for p in cache_folder.iterdir()] == [cache_path(text).name]  # type: ignore[union-attr]


def test_processes_writing_at_once_leave_one_whole_entry(tmp_path: Path) -> None:
    text_file = ROOT / "pq_crypto" / "data" / "algorithms.yaml"
    code = (
        "import sys; from pathlib import Path; from kernel.data_yaml import load_data_yaml\n"
        f"print(repr(load_data_yaml(Path({str(text_file)!r}).read_text('utf-8'))))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path)
    writers = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    outputs = {writer.communicate(timeout=60)[0] for writer in writers}
    assert outputs == {repr(_pure(text_file.read_text("utf-8"))) + "\n"}
    assert len(list((tmp_path / "assure-data-yaml").iterdir())) == 1


def test_a_process_reading_only_kept_entries_never_imports_pyyaml(tmp_path: Path) -> None:
    code = (
        "import sys; from checks.findings import finding_catalogue\n"
        "from pq_crypto.catalogue import algorithm_index\n"
        "finding_catalogue(); algorithm_index(); print('yaml' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path)

    def run() -> str:
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.strip()

    assert run() == "True"  # the first run parses and keeps
    assert run() == "False"  # the next reads what was kept


def test_another_pyyaml_does_not_read_the_entries_of_this_one(tmp_path: Path) -> None:
    # The same PyYAML copied elsewhere, as an upgrade or another environment would place it.
    shutil.copytree(Path(yaml.__file__).parent, tmp_path / "site" / "yaml")
    code = "from kernel.data_yaml import cache_path; print(cache_path('same: text'))"

    def entry(extra: dict[str, str]) -> str:
        env = {**os.environ, "PYTHONPYCACHEPREFIX": str(tmp_path / "cache"), **extra}
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.strip()

    here = Path(entry({}))
    assert here.parent == tmp_path / "cache" / "assure-data-yaml"
    assert here.name == cache_path("same: text").name  # type: ignore[union-attr]
    assert Path(entry({"PYTHONPATH": str(tmp_path / "site")})).name != here.name
