"""Hostile and careless inputs to `vmnist`: every case gives a non-zero exit, one line naming the option or file and
the fix, no traceback, and changes no file; a writer killed outright leaves a temporary that the next write of the
same target removes."""
from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

import vmnist.file.generator
import vmnist.file.writer
import vmnist.infra.atomic
from cli.vmnist_cli import main
from vmnist import DatasetError, VideoMNIST, dataset_fingerprint, load_labels, load_split, open_dataset
from vmnist.infra.atomic import atomic_files, atomic_path, atomic_write_text
from vmnist.testing import FILE_EDITS, edited_copy, make_tiny_dataset, synthetic_digits, tiled_digits

TINY = ["--limit", "10", "--frames", "4", "--workers", "1"]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny.h5", per_split=10, frames=4)


@pytest.fixture(scope="module")
def sharded(tmp_path_factory) -> Path:
    return make_tiny_dataset(tmp_path_factory.mktemp("sharded") / "s.h5", per_split=10, frames=4, shard_size=4)


@pytest.fixture(scope="module")
def digits():
    return tiled_digits(synthetic_digits(n_train=100, n_test=100))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def one_line_failure(result, *fragments: str) -> None:
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # a Click error, not an escaped exception
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


def failure_after_progress(result, *fragments: str) -> None:
    """A failure after progress lines on stderr: one line of error naming `fragments`, no traceback."""
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output and len(errors) == 1, result.output
    assert all(fragment in errors[0] for fragment in fragments), result.output


def damaged(source: Path, folder: Path, name: str, rows: int = 7) -> Path:
    """A copy of `source` (and its shards) in `folder` whose test split keeps only `rows` rows of dataset `name`."""
    for path in source.parent.glob(f"{source.stem}*"):
        shutil.copy(path, folder / path.name)
    path = folder / source.name
    with h5py.File(path, "a") as f:
        group = f["test"]
        kept = group[name][:rows]
        chunks = group[name].chunks
        del group[name]
        group.create_dataset(name, data=kept, chunks=chunks and (1, *kept.shape[1:]), compression="gzip")
    return path


def full_disk_chunks(videos, first_row, chunks) -> None:
    """h5py's write_direct_chunk on a full disk: errno 28, no filename, the temporary named in a two-line message."""
    raise OSError(errno.ENOSPC, "Can't write unprocessed chunk data (file write failed: time = Tue Nov 24 14:17:59 2026\n"
                                f", filename = '{videos.file.filename}', errno = 28, error message = 'No space left on device')")


def full_disk_savefig(self, fname, **kwargs) -> None:
    Path(fname).write_bytes(b"\x89PNG half")
    raise OSError(errno.ENOSPC, "No space left on device")  # as a write or close of a full disk: no file name


def read_only_mkstemp(dir, prefix, suffix):
    raise OSError(errno.EROFS, "Read-only file system", os.path.join(dir, f"{prefix}abcd1234{suffix}"))


def generate_offline(monkeypatch, digits) -> None:
    monkeypatch.setattr(vmnist.file.generator, "fetch_mnist", lambda **kwargs: digits)


def make_fifo(monkeypatch, digits, folder: Path) -> None:
    os.mkfifo(folder / "f.h5")
    os.mkfifo(folder / "m.pkl.gz")


def link_to_zero(monkeypatch, digits, folder: Path) -> None:
    (folder / "zero.pkl.gz").symlink_to("/dev/zero")  # reading it never ends


BIG = str(2**70)


#: case -> (arguments (DATA, SHARDED: the tiny files; DAMAGED-<dataset>: a copy damaged there), what the line says,
#:          what to arrange first (monkeypatch, digits, folder) or None)
CASES = {
    "generate --seed -1": (["generate", "--seed", "-1", *TINY], ["--seed", "not in the range 0 to 2**64-1"], None),
    "generate --seed 2**64": (["generate", "--seed", str(2**64), *TINY], ["--seed", "not in the range 0 to 2**64-1"], None),
    "generate --splits twice": (["generate", "--splits", "train,test,train", *TINY], ["--splits", "train named twice"], None),
    "generate existing --out": (["generate", "--out", "old.h5", *TINY], ["old.h5 already exists", "--force"], None),
    "generate on a full disk": (["generate", "--out", "new.h5", *TINY], ["No space left on device: new.h5", "free some"],
                                lambda mp, d, folder: (generate_offline(mp, d), mp.setattr(vmnist.file.writer, "write_chunks", full_disk_chunks))),
    "generate shards on a full disk": (["generate", "--out", "new.h5", "--shard-size", "4", *TINY],
                                       ["No space left on device: new-train-00000.h5"],
                                       lambda mp, d, folder: (generate_offline(mp, d), mp.setattr(vmnist.file.writer, "write_chunks", full_disk_chunks))),
    "preview --out .xyz": (["preview", "DATA", "--out", "p.xyz"], ["--out", "p.xyz", "must end in .png, .svg, .pdf"], None),
    "preview --gif --out .png": (["preview", "DATA", "--gif", "--out", "p.png"], ["--out", "p.png", "must end in .gif"], None),
    "preview existing --out": (["preview", "DATA", "--out", "old.png"], ["old.png already exists", "--force"], None),
    "preview --gif existing --out": (["preview", "DATA", "--gif", "--out", "old.gif"], ["old.gif already exists", "--force"], None),
    "preview existing default": (["preview", "DATA"], ["fig2.png already exists", "--force"], None),
    "preview on a full disk": (["preview", "DATA", "--out", "new.png"], ["No space left on device: new.png"],
                               lambda mp, d, folder: mp.setattr("matplotlib.figure.Figure.savefig", full_disk_savefig)),
    "preview into a read-only folder": (["preview", "DATA", "--out", "new.png"], ["Read-only file system: new.png"],
                                        lambda mp, d, folder: mp.setattr(vmnist.infra.atomic.tempfile, "mkstemp", read_only_mkstemp)),
    **{f"{command} short {name}": ([command, f"DAMAGED-{name}", *extra],
                                   ["tiny.h5: split 'test' is damaged", f"7 {name} for 10 labels", "vmnist generate --out"], None)
       for command, extra in (("info", []), ("verify", ["--structure-only"]), ("preview", ["--out", "new.png"]))
       for name in ("videos", "params", "source_index")},
    "info short sharded labels": (["info", "DAMAGED-SHARDED-labels"], ["s.h5: split 'test' is damaged", "--shard-size 4 --force"],
                                  None),
    # a file's contents are input: one line naming the file, the problem and the fix
    **{f"{command} {edit}": ([command, f"EDITED-{'SHARDED-' if 'shards' in edit else ''}{edit}", *extra],
                             [f"{'s' if 'shards' in edit else 'tiny'}.h5: ", message, "vmnist generate --out"], None)
       for edit, (_, message) in FILE_EDITS.items() for command, extra in (("info", []), ("verify", ["--structure-only"]))},
    "info of a FIFO": (["info", "f.h5"], ["f.h5 is a FIFO (named pipe), not a Video-MNIST file"], make_fifo),
    "generate --mnist FIFO": (["generate", "--out", "new.h5", "--mnist", "m.pkl.gz", *TINY],
                              ["m.pkl.gz: a FIFO (named pipe), not an MNIST file"], make_fifo),
    "generate --mnist /dev/zero": (["generate", "--out", "new.h5", "--mnist", "zero.pkl.gz", *TINY],
                                   ["zero.pkl.gz: a character device, not an MNIST file"], link_to_zero),
    "generate --out --help": (["generate", "--out", "--help", *TINY], ["--out", "'--help' looks like an option", "./--help"], None),
    "preview --out --force": (["preview", "DATA", "--out", "--force"], ["--out", "'--force' looks like an option"], None),
    "generate --frames 2**70": (["generate", *TINY, "--frames", BIG], ["--frames", "2<=x<=1000"], None),
    "generate --workers 2**70": (["generate", *TINY, "--workers", BIG], ["--workers", "1<=x<=256"], None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_and_changes_nothing(case, data, sharded, digits, tmp_path, monkeypatch) -> None:
    args, fragments, arrange = CASES[case]
    if args[0] == "preview":
        pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    for name in ("old.h5", "old.png", "old.gif", "fig2.png"):
        (tmp_path / name).write_bytes(b"precious")
    swap = {"DATA": str(data), "SHARDED": str(sharded)}
    for arg in args:
        if arg.startswith("EDITED-SHARDED-"):
            swap[arg] = edited_copy(sharded, tmp_path, arg.removeprefix("EDITED-SHARDED-")).name
        elif arg.startswith("EDITED-"):
            swap[arg] = edited_copy(data, tmp_path, arg.removeprefix("EDITED-")).name
        elif arg.startswith("DAMAGED-SHARDED-"):
            swap[arg] = str(damaged(sharded, tmp_path, arg.rsplit("-", 1)[1]).name)
        elif arg.startswith("DAMAGED-"):
            swap[arg] = str(damaged(data, tmp_path, arg.split("-", 1)[1]).name)
    if arrange is not None:
        arrange(monkeypatch, digits, tmp_path)
    before = snapshot(tmp_path)
    one_line_failure(CliRunner().invoke(main, [swap.get(a, a) for a in args]), *fragments)
    assert snapshot(tmp_path) == before  # nothing changed, no temporary left


def test_preview_force_overwrites(data, tmp_path) -> None:
    pytest.importorskip("matplotlib")
    old = tmp_path / "old.png"
    old.write_bytes(b"precious")
    result = CliRunner().invoke(main, ["preview", str(data), "--out", str(old), "--force"])
    assert result.exit_code == 0, result.output
    assert old.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and sorted(os.listdir(tmp_path)) == ["old.png"]


@pytest.mark.parametrize("name", ["videos", "params", "source_index", "labels"])
def test_every_reader_names_a_damaged_split(data, tmp_path, name) -> None:
    path = damaged(data, tmp_path, name)
    readers = [lambda: open_dataset(path), lambda: load_split(path, "test"), lambda: load_split(path, "train"),
               lambda: VideoMNIST(path, "test"), lambda: load_labels(path, "test"), lambda: dataset_fingerprint(path)]
    for read in readers:
        with pytest.raises(DatasetError, match=r"tiny\.h5: split 'test' is damaged: .* for \d+ labels; render it again"):
            read()


def test_a_scalar_dataset_is_damage_too(data, tmp_path) -> None:
    path = tmp_path / "tiny.h5"
    shutil.copy(data, path)
    with h5py.File(path, "a") as f:
        del f["val"]["labels"]
        f["val"].create_dataset("labels", data=np.uint8(3))
    with pytest.raises(DatasetError, match=r"split 'val' is damaged: 10 videos, 10 source_index, 10 params for 0 labels"):
        open_dataset(path)


# --- stale temporaries --------------------------------------------------------------------------------------------
def dead_pid() -> int:
    """The pid of a process that has finished (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def temporary(target: Path, pid: int, host: str | None = None) -> Path:
    path = target.parent / f".{target.name}.{pid}.{host or vmnist.infra.atomic._host()}.k3j2h1g0.tmp"
    path.write_bytes(b"half a file")
    return path


KILLED_WRITER = """import sys, time
from vmnist.infra.atomic import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_bytes(b"half")
    print(tmp, flush=True)
    time.sleep(60)
"""


def test_a_writer_killed_mid_write_leaves_a_temporary_that_the_next_write_removes(tmp_path) -> None:
    target = tmp_path / "out.txt"
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(target)],
        stdout=subprocess.PIPE, text=True)
    left = Path(writer.stdout.readline().strip())
    os.kill(writer.pid, signal.SIGKILL)
    writer.communicate(timeout=30)
    assert left.name.startswith(f".out.txt.{writer.pid}.") and left.exists()  # kill -9: nothing can clean up
    atomic_write_text(target, "whole")
    assert sorted(os.listdir(tmp_path)) == ["out.txt"] and target.read_text() == "whole"


def test_only_stale_temporaries_of_the_target_are_removed(tmp_path) -> None:
    target = tmp_path / "data.h5"
    dead = dead_pid()
    stale = temporary(target, dead)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        kept = [
            temporary(target, os.getpid()),  # this live process
            temporary(target, sleeper.pid),  # another live process
            temporary(target, dead, host="elsewhere"),  # another host's (a shared folder): its pid means nothing here
            temporary(tmp_path / "data.h5.1", dead),  # another target's
            temporary(tmp_path / "other.h5", dead),
            tmp_path / ".data.h5.k3j2h1g0.tmp",  # an older vmnist's, without a pid
            tmp_path / f".data.h5.{dead}.x.y.z.tmp",  # not a temporary name of this module
        ]
        kept[-2].write_bytes(b"")
        kept[-1].write_bytes(b"")
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"new")
        assert not stale.exists() and all(path.exists() for path in kept)
        assert target.read_bytes() == b"new"
    finally:
        sleeper.kill()
        sleeper.wait()


def test_generate_removes_stale_temporaries_of_its_files(digits, tmp_path, monkeypatch) -> None:
    generate_offline(monkeypatch, digits)
    dead = dead_pid()
    stale = [temporary(tmp_path / name, dead) for name in ("s.h5", "s-train-00000.h5", "s-test-00002.h5")]
    other = temporary(tmp_path / "t.h5", dead)
    result = CliRunner().invoke(main, ["generate", "--out", str(tmp_path / "s.h5"), "--shard-size", "4", *TINY])
    assert result.exit_code == 0, result.output
    assert not any(path.exists() for path in stale) and other.exists()
    assert not [p for p in tmp_path.glob(".*") if p != other]


def test_errors_name_the_target_not_the_temporary(tmp_path, monkeypatch) -> None:
    target = tmp_path / "a.txt"

    def read_only_replace(src, dst):
        raise OSError(errno.EROFS, "Read-only file system", str(src), str(dst))

    monkeypatch.setattr(vmnist.infra.atomic.os, "replace", read_only_replace)
    with pytest.raises(OSError) as caught:
        atomic_write_text(target, "x")
    assert (caught.value.errno, caught.value.filename) == (errno.EROFS, str(target))
    monkeypatch.undo()
    with pytest.raises(PermissionError) as caught, atomic_files() as reserve:  # the errno keeps its OSError subclass
        reserve(tmp_path / "b.txt")
        reserve(tmp_path / "c.txt").write_bytes(b"")
        raise PermissionError(errno.EACCES, "Permission denied", str(next(tmp_path.glob(".c.txt.*"))))
    assert caught.value.filename == str(tmp_path / "c.txt") and caught.value.__cause__ is not None
    with pytest.raises(KeyError), atomic_path(target):  # other errors pass unchanged
        raise KeyError("x")
    with pytest.raises(OSError) as caught, atomic_path(target):  # an OSError about another file too
        (tmp_path / "missing.txt").read_bytes()
    assert caught.value.filename == str(tmp_path / "missing.txt")
    assert os.listdir(tmp_path) == []


# --- nothing outside the output is touched --------------------------------------------------------------------------
def test_force_deletes_no_file_that_an_old_shards_attribute_names(digits, tmp_path, monkeypatch) -> None:
    """The old file's `shards` attribute is input: --force removes only files named like its own shards, in its
    folder, that open as its shards; a planted list pointing elsewhere deletes nothing."""
    generate_offline(monkeypatch, digits)
    out = tmp_path / "sub" / "d.h5"
    assert CliRunner().invoke(main, ["generate", "--out", str(out), "--shard-size", "4", *TINY]).exit_code == 0
    victims = {tmp_path / "thesis.txt": b"years of work", tmp_path / "abs.txt": b"more work",
               out.parent / "notes.txt": b"beside it", out.parent / "d-test-00009.h5": b"named like a shard, not listed so",
               out.parent / "d-val-00000.h5": b"named and listed as a shard, is none"}
    for victim, content in victims.items():
        victim.write_bytes(content)
    outside = {"test": [{"file": "../thesis.txt", "start": 0, "stop": 1, "bytes": 0},
                        {"file": str(tmp_path / "abs.txt"), "start": 1, "stop": 2, "bytes": 0}]}
    beside = {"train": [{"file": "notes.txt", "start": 0, "stop": 1, "bytes": 0},
                        {"file": "d-test-00009.h5", "start": 1, "stop": 2, "bytes": 0}],
              "val": [{"file": "d-val-00000.h5", "start": 0, "stop": 1, "bytes": 0}]}
    for table in (outside, beside):
        with h5py.File(out, "a") as f:
            f.attrs["shards"] = json.dumps(table)
        result = CliRunner().invoke(main, ["generate", "--out", str(out), "--limit", "5", "--splits", "test", "--force",
                                           "--frames", "4", "--workers", "1"])
        assert result.exit_code == 0, result.output
        assert all(victim.read_bytes() == content for victim, content in victims.items())


def test_a_file_that_appears_while_rendering_is_never_replaced(digits, tmp_path, monkeypatch) -> None:
    """Two `vmnist generate --out same.h5` at once, without --force: the one that finishes second leaves the first
    one's file alone (the final step claims the name; it does not rename over it) and says so."""
    generate_offline(monkeypatch, digits)
    finish = {"single": vmnist.file.writer.SingleFileWriter.finish, "sharded": vmnist.file.writer.ShardedWriter.finish}

    def other_writer_first(kind: str, target: str):
        def finish_after(self) -> None:
            (tmp_path / target).write_bytes(b"the other writer's file")
            finish[kind](self)
        return finish_after

    for kind, target, extra in (("single", "gc.h5", []), ("sharded", "gc-val-00001.h5", ["--shard-size", "4"])):
        writer = vmnist.file.writer.SingleFileWriter if kind == "single" else vmnist.file.writer.ShardedWriter
        monkeypatch.setattr(writer, "finish", other_writer_first(kind, target))
        result = CliRunner().invoke(main, ["generate", "--out", str(tmp_path / "gc.h5"), *extra, *TINY])
        failure_after_progress(result, f"{target} appeared while this file was rendered", "--force")
        assert sorted(os.listdir(tmp_path)) == [target]  # theirs, untouched; nothing of ours, no temporary
        assert (tmp_path / target).read_bytes() == b"the other writer's file"
        (tmp_path / target).unlink()


def test_a_missing_output_folder_is_created_and_removed_again_on_failure(digits, tmp_path, monkeypatch) -> None:
    generate_offline(monkeypatch, digits)
    result = CliRunner().invoke(main, ["generate", "--out", str(tmp_path / "new" / "sub" / "data.h5"), *TINY])
    assert result.exit_code == 0 and (tmp_path / "new" / "sub" / "data.h5").is_file(), result.output
    monkeypatch.setattr(vmnist.file.writer, "write_chunks", full_disk_chunks)
    result = CliRunner().invoke(main, ["generate", "--out", str(tmp_path / "other" / "sub" / "data.h5"), *TINY])
    failure_after_progress(result, "No space left on device")
    assert sorted(os.listdir(tmp_path)) == ["new"]  # the folders made for the failed write are gone


def test_names_are_text_not_markup(data, tmp_path) -> None:
    for name in ("in[/]fo.h5", "a[bold]b.h5"):
        path = tmp_path / name
        path.parent.mkdir(exist_ok=True)
        shutil.copy(data, path)
        result = CliRunner().invoke(main, ["info", str(path)])
        assert result.exit_code == 0 and f"{path}:" in result.output, result.output


def no_hard_links(src, dst) -> None:
    raise OSError(errno.EPERM, "Operation not permitted", str(src), str(dst))  # as on FAT or some network file systems


@pytest.mark.parametrize("links", [True, False], ids=["hard links", "no hard links"])
def test_a_write_that_must_not_replace_never_does(tmp_path, monkeypatch, links) -> None:
    """replace=False claims the name in one step (a hard link, else an O_EXCL claim): a file that exists by then,
    however late it came, is left as it is, and nothing of the write is left behind."""
    if not links:
        monkeypatch.setattr(vmnist.infra.atomic.os, "link", no_hard_links)
    target = tmp_path / "a.txt"
    with atomic_path(target, replace=False) as tmp:
        tmp.write_text("first")
    with pytest.raises(FileExistsError) as caught, atomic_path(target, replace=False) as tmp:
        tmp.write_text("second")
    assert caught.value.filename == str(target) and target.read_text() == "first"
    assert os.listdir(tmp_path) == ["a.txt"]
