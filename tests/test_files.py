"""Atomic writes (tinygrad_nn.files) at the edges, through every writer: symlinks written
through, non-regular files refused untouched, permission bits kept, and the temporary files of
killed writers recognisable and cleaned up."""

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hypothesis import given, strategies as st
import numpy as np
import pytest

from tinygrad_nn import Value, load, save
from tinygrad_nn.files import STALE_AFTER, atomic_open, remove_stale_temporaries, write_atomically

ROOT = Path(__file__).resolve().parents[1]


def write_npz(path):
    save({"W": np.arange(3.0)}, path)
    np.testing.assert_array_equal(load(path)["W"], np.arange(3.0))


def write_safetensors(path):
    pytest.importorskip("safetensors")
    save({"W": np.arange(3.0)}, path)
    np.testing.assert_array_equal(load(path)["W"], np.arange(3.0))


def write_svg(path):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    from tinygrad_nn.viz import save_svg
    save_svg(Value(1.0, label="x") + 1.0, path)
    assert Path(path).read_bytes().lstrip().startswith((b"<?xml", b"<svg"))


def write_figure(path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from tinygrad_nn.plots import save_figure
    fig = plt.figure(figsize=(1, 1))
    try:
        save_figure(fig, path)
    finally:
        plt.close(fig)
    assert Path(path).read_bytes().startswith(b"\x89PNG")


def write_bytes(path):
    write_atomically(path, b"new bytes", "test")
    assert Path(path).read_bytes() == b"new bytes"


WRITERS = {"save .npz": (write_npz, ".npz"),
           "save .safetensors": (write_safetensors, ".safetensors"),
           "save_svg": (write_svg, ".svg"), "save_figure": (write_figure, ".png"),
           "write_atomically": (write_bytes, ".bin")}


@pytest.fixture(params=list(WRITERS))
def writer(request):
    return WRITERS[request.param]


def listing(directory):
    return sorted(os.listdir(directory))


# ---- symbolic links --------------------------------------------------------------------------

def test_a_symlink_is_written_through_and_stays_a_link(tmp_path, writer):
    write, suffix = writer
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    real, link = elsewhere / f"real{suffix}", tmp_path / f"link{suffix}"
    real.write_bytes(b"old")
    os.chmod(real, 0o640)
    link.symlink_to(real)
    write(link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes() != b"old" and real.stat().st_mode & 0o777 == 0o640
    assert listing(tmp_path) == ["elsewhere", link.name]  # no temporary file left on either side
    assert listing(elsewhere) == [real.name]


def test_a_dangling_symlink_creates_its_target_as_open_would(tmp_path):
    real, link = tmp_path / "real.npz", tmp_path / "link.npz"
    link.symlink_to(real.name)  # relative, as `ln -s real.npz link.npz` makes it
    write_npz(link)
    assert link.is_symlink() and real.is_file() and not real.is_symlink()
    assert listing(tmp_path) == ["link.npz", "real.npz"]


def test_a_chain_of_symlinks_is_followed_to_the_end(tmp_path):
    real = tmp_path / "real.bin"
    real.write_bytes(b"old")
    (tmp_path / "a.bin").symlink_to(real)
    (tmp_path / "b.bin").symlink_to(tmp_path / "a.bin")
    write_bytes(tmp_path / "b.bin")
    assert real.read_bytes() == b"new bytes" and (tmp_path / "a.bin").is_symlink()


def test_a_loop_of_symlinks_is_refused_naming_the_path(tmp_path):
    (tmp_path / "a.bin").symlink_to(tmp_path / "b.bin")
    (tmp_path / "b.bin").symlink_to(tmp_path / "a.bin")
    with pytest.raises(OSError, match=r"test: cannot write .*a\.bin.*symbolic links"):
        write_atomically(tmp_path / "a.bin", b"x", "test")
    assert (tmp_path / "a.bin").is_symlink() and listing(tmp_path) == ["a.bin", "b.bin"]


# ---- what is not a regular file ------------------------------------------------------------

def test_a_fifo_is_refused_and_left_alone(tmp_path, writer):
    write, suffix = writer
    fifo = tmp_path / f"pipe{suffix}"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match=r"pipe.* is a FIFO \(named pipe\), not a regular file; "
                                      r"refusing to replace it \(nothing was written\)"):
        write(fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and listing(tmp_path) == [fifo.name]


def test_a_link_to_a_device_is_refused_and_both_are_left_alone(tmp_path, writer):
    write, suffix = writer
    link = tmp_path / f"null{suffix}"
    link.symlink_to("/dev/null")
    with pytest.raises(OSError, match="null.* is a character device, not a regular file"):
        write(link)
    assert link.is_symlink() and stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert listing(tmp_path) == [link.name]


def test_a_directory_is_refused(tmp_path, writer):
    write, suffix = writer
    directory = tmp_path / f"folder{suffix}"
    directory.mkdir()
    (directory / "inside").write_bytes(b"kept")
    with pytest.raises(IsADirectoryError, match="is a directory, not a regular file"):
        write(directory)
    assert listing(directory) == ["inside"] and listing(tmp_path) == [directory.name]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_a_read_only_file_is_refused_as_open_would_refuse_it(tmp_path, monkeypatch):
    path = tmp_path / "locked.bin"
    path.write_bytes(b"old")
    os.chmod(path, 0o444)
    if os.geteuid() == 0:  # root may write any file: answer as for anyone else
        monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    with pytest.raises(PermissionError, match=r"locked\.bin.* is not writable \(mode 0o444\)"):
        write_atomically(path, b"new", "test")
    assert path.read_bytes() == b"old"


# ---- permission bits -------------------------------------------------------------------------

@given(st.integers(0, 0o777).map(lambda mode: mode | 0o600))
def test_an_existing_file_keeps_its_permission_bits(mode):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "f.bin"
        path.write_bytes(b"old")
        os.chmod(path, mode)
        write_bytes(path)
        assert path.stat().st_mode & 0o777 == mode


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_gets_the_mode_open_would_give(tmp_path, writer, umask, mode):
    write, suffix = writer
    old = os.umask(umask)
    try:
        write(tmp_path / f"new{suffix}")
    finally:
        os.umask(old)
    assert (tmp_path / f"new{suffix}").stat().st_mode & 0o777 == mode


# ---- temporary files of killed writers -----------------------------------------------------

# files.py imports nothing of tinygrad_nn, so the child loads it alone (fast, no numpy).
KILLED_WRITER = """
import importlib.util, os, signal, sys
spec = importlib.util.spec_from_file_location("files", sys.argv[2])
files = importlib.util.module_from_spec(spec)
spec.loader.exec_module(files)
with files.atomic_open(sys.argv[1], "save") as file:
    file.write(b"half of a large file" * 50000)
    file.flush()
    os.kill(os.getpid(), signal.SIGKILL)
"""


def killed_writer(path):
    """Run a process that dies by SIGKILL in the middle of writing `path`; returns its pid."""
    child = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path),
                              str(ROOT / "tinygrad_nn" / "files.py")])
    assert child.wait() == -signal.SIGKILL
    return child.pid


def age(path, seconds):
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.mark.skipif(os.name != "posix", reason="stale files are recognised by their process id")
def test_a_killed_save_leaves_a_recognisable_file_that_the_next_save_removes(tmp_path):
    target = tmp_path / "model.npz"
    pid = killed_writer(target)
    [left] = os.listdir(tmp_path)
    assert re.fullmatch(rf"\.model\.npz\.{pid}\.[0-9a-f]{{8}}\.tmp", left)  # as documented
    assert os.path.getsize(tmp_path / left) == 20 * 50000
    write_npz(target)  # its writer is dead but it was written a moment ago: kept for now
    assert listing(tmp_path) == sorted([left, "model.npz"])
    age(tmp_path / left, STALE_AFTER + 1)
    write_npz(target)
    assert listing(tmp_path) == ["model.npz"]


@pytest.mark.skipif(os.name != "posix", reason="stale files are recognised by their process id")
def test_only_stale_temporaries_of_the_same_target_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    planted = {
        f".model.npz.{dead}.0123abcd.tmp": True,         # dead writer, old: removed
        f".model.npz.{os.getpid()}.0123abcd.tmp": False,  # a running writer: kept
        f".model.npz.{os.getppid()}.0123abcd.tmp": False,
        f".other.npz.{dead}.0123abcd.tmp": False,         # another target's
        f".model.npz.{dead}.nothex00.tmp": False,         # not a name atomic_open makes
        f"model.npz.{dead}.0123abcd.tmp": False,
        f".model.npz.0.0123abcd.tmp": True,               # no process has pid 0
        f".model.npz.{10**30}.0123abcd.tmp": True,        # nor one this large
    }
    for name in planted:
        (tmp_path / name).write_bytes(b"left over")
        age(tmp_path / name, STALE_AFTER + 60)
    removed = remove_stale_temporaries(tmp_path / "model.npz")
    assert sorted(p.name for p in removed) == sorted(n for n, gone in planted.items() if gone)
    assert listing(tmp_path) == sorted(n for n, gone in planted.items() if not gone)


def test_a_failed_write_removes_its_own_temporary(tmp_path):
    with pytest.raises(RuntimeError, match="midway"):
        with atomic_open(tmp_path / "x.bin", "test") as file:
            file.write(b"partial")
            raise RuntimeError("midway")
    assert listing(tmp_path) == []
