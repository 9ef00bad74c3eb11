"""medchain.files: every file the SDK writes is written atomically, 0600 when private, and
never over an existing file unless asked."""

from __future__ import annotations

import json
import stat

import pytest

from medchain.errors import InvalidInput
from medchain.files import write_file, write_json


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_private_file_is_0600_also_when_it_replaces_a_readable_one(tmp_path):
    target = tmp_path / "key"
    target.write_text("old")
    target.chmod(0o644)
    assert write_file(target, "secret", private=True) == target
    assert target.read_text() == "secret" and _mode(target) == 0o600


def test_plain_file_follows_the_umask(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        write_file(tmp_path / "plain", b"data")
    finally:
        os.umask(umask)
    assert _mode(tmp_path / "plain") == 0o644


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")

    def pieces():
        yield b"new, half"
        raise RuntimeError("integrity check failed")

    with pytest.raises(RuntimeError):
        write_file(target, pieces())
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_new_file_is_never_written_over(tmp_path):
    target = tmp_path / "holder.json"
    write_json(target, {"secret": 1}, private=True, overwrite=False)
    with pytest.raises(InvalidInput, match=r"holder\.json exists and is not overwritten"):
        write_json(target, {"secret": 2}, overwrite=False)
    with pytest.raises(InvalidInput, match=r"^kept$"):
        write_file(target, b"", overwrite=False, exists_message="kept")
    assert json.loads(target.read_text()) == {"secret": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["holder.json"]


def test_streamed_pieces_and_json_layout(tmp_path):
    write_file(tmp_path / "s", iter([b"a", b"b", b"c"]), durable=True)
    assert (tmp_path / "s").read_bytes() == b"abc"
    write_json(tmp_path / "j", {"b": 1, "a": 2}, indent=None, sort_keys=True)
    assert (tmp_path / "j").read_text() == '{"a": 2, "b": 1}\n'
