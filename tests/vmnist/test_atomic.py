"""Atomic writes: the target is replaced only by a complete file; failures leave the old file and no debris."""
from __future__ import annotations

import os

import pytest

from vmnist.infra.atomic import atomic_open, atomic_path, atomic_write_text


def test_replaces_only_when_complete(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_open(target, "w") as handle:
            handle.write("half")
            raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    atomic_write_text(target, "new")
    assert target.read_text() == "new"


def test_atomic_path_creates_folders_and_ordinary_permissions(tmp_path):
    target = tmp_path / "a" / "b" / "fig.bin"
    old_umask = os.umask(0o022)
    try:
        with atomic_path(target) as tmp:
            assert tmp.parent == target.parent and tmp.name.startswith(".fig.bin.")
            tmp.write_bytes(b"\x00\x01")
    finally:
        os.umask(old_umask)
    assert target.read_bytes() == b"\x00\x01"
    assert target.stat().st_mode & 0o777 == 0o644  # as open() would make it, not mkstemp's private 0o600


def test_atomic_open_refuses_read_modes(tmp_path):
    with pytest.raises(ValueError, match="writes only"):
        with atomic_open(tmp_path / "x", "r"):
            pass
