"""SQLite made unwritable for real: a write lock held by another connection, a full disk.

``WriteLock`` holds SQLite's write lock from a connection of its own (``BEGIN
IMMEDIATE``, which in WAL mode is the same lock as ``EXCLUSIVE``): readers go on,
every writer waits out its busy timeout. ``TinyDisk`` is a small tmpfs mounted for one
test: a SQLite file on it fills the disk for real when a filler file takes the last
free block (``database or disk is full``), and frees it again when the filler goes.
The mount is always undone, whatever the test did.

A read-only remount is not offered: Linux refuses ``mount -o remount,ro`` (EBUSY)
while any file on the mount is open for writing, and a dispatcher keeps its SQLite
file open; ``chattr +i`` does not stop a descriptor already open either.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path


def mounting_missing() -> str | None:
    """Why no tmpfs can be mounted here (None when one can)."""
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    if shutil.which("mount") is None:
        return "mount is not installed"
    return None


class WriteLock:
    """SQLite's write lock on ``path``, held by a thread of this process until released."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.held = threading.Event()
        self._release = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def acquire(self, timeout: float = 30) -> None:
        """Take the lock (waiting for a writer that has it now) and keep it."""
        self._thread = threading.Thread(target=self._hold, name="sqlite-write-lock", daemon=True)
        self._thread.start()
        if not self.held.wait(timeout):
            raise TimeoutError(f"could not take the write lock on {self.path}: {self.error}")

    def _hold(self) -> None:
        try:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            connection.execute("BEGIN IMMEDIATE")
        except BaseException as exc:
            self.error = exc
            return
        self.held.set()
        self._release.wait()
        connection.execute("ROLLBACK")
        connection.close()

    def release(self) -> None:
        self._release.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.held.clear()


class TinyDisk:
    """A tmpfs of ``size_kib`` mounted on ``mount_point`` for as long as it is in use."""

    def __init__(self, mount_point: Path, size_kib: int) -> None:
        self.mount_point = mount_point
        self.size_kib = size_kib
        self.filler = mount_point / "filler"

    def mount(self) -> None:
        self.mount_point.mkdir(parents=True, exist_ok=True)
        options = f"size={self.size_kib}k"
        command = ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(self.mount_point)]
        subprocess.run(command, check=True, capture_output=True)

    def unmount(self) -> None:
        """Unmount, even while a killed process's files are still being closed."""
        for _ in range(50):
            done = subprocess.run(["umount", str(self.mount_point)], capture_output=True)
            if done.returncode == 0:
                return
            threading.Event().wait(0.1)
        subprocess.run(["umount", "--lazy", str(self.mount_point)], check=True)

    def fill(self) -> int:
        """Take every free block; returns the bytes taken."""
        written = 0
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            for size in (1 << 16, 1 << 12, 1 << 9, 1):
                block = b"\0" * size
                while True:
                    try:
                        count = os.write(fd, block)
                    except OSError:  # ENOSPC: the disk is full
                        break
                    written += count
                    if count < size:
                        break
        finally:
            os.close(fd)
        return written

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def full(self) -> bool:
        stat = os.statvfs(self.mount_point)
        return stat.f_bavail == 0


@contextlib.contextmanager
def tiny_disk(mount_point: Path, size_kib: int) -> Iterator[TinyDisk]:
    disk = TinyDisk(mount_point, size_kib)
    disk.mount()
    try:
        yield disk
    finally:
        disk.unmount()
