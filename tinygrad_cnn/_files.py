"""Atomic file writes: a reader sees the old file or the new one, never half of one, whatever happens midway.

Every file the package writes (checkpoints, IDX files, the CLI's metrics and pictures) goes through here::

    atomic_write_bytes(path, data)             # all at once
    atomic_write_text(path, text)              # str, UTF-8 by default
    with atomic_writer(path) as file: ...      # streaming: a binary file opened "w+b" (seek and read back work)
    with atomic_path(path) as temporary: ...   # for a tool that wants a path to write (``dot -o``, ``savefig``)

How: the bytes go to a hidden temporary ``.NAME.<host>-<pid>-<random>.tmp`` in the target's folder (same
filesystem, so the rename is atomic), which is flushed and fsynced, renamed over the target with
``os.replace``, and then the folder is fsynced so the rename itself survives a power cut. On any failure
(an exception, a full disk, ``KeyboardInterrupt``) the temporary is removed and the previous file at ``path``
is left untouched.

- **Symbolic links** at the target are followed: the file the link points to is replaced and the link stays.
- **Permissions**: a new file gets the usual ``0o666 & ~umask``; overwriting keeps the old file's mode bits.
- **Stale temporaries** (a writer killed by SIGKILL or a power cut cannot remove its own) are removed on the next
  write of the same target. Only files of exactly this naming for the same NAME, regular files, are candidates,
  and one is removed only when its writer certainly stopped: its process id is not running on this host (the
  name records the host and the pid; the check is skipped on Windows and for another host's files), or it has
  not been modified for :data:`STALE_AFTER` seconds (a live writer keeps writing; this also covers a pid reused
  by an unrelated process). A temporary of a live writer, ours or another process's, is never removed.
- **Errors**: a missing folder is a ``FileNotFoundError`` and a target that is a folder an
  ``IsADirectoryError``, both naming the path; other OS errors (permission denied, disk full) propagate
  unchanged after the clean-up.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

#: a temporary not modified for this many seconds belongs to a writer that stopped (1 hour)
STALE_AFTER = 3600.0
_HOST = hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]
_TAIL = re.compile(r"(?P<host>[0-9a-f]{8})-(?P<pid>[0-9]+)-[0-9a-f]{12}\.tmp")
_LEGACY_TAIL = re.compile(r"[0-9a-f]{12}\.tmp")  # what save wrote before the pid was recorded


def temporary_name(name: str, pid: int | None = None, host: str | None = None) -> str:
    """The hidden temporary for a target called ``name``: ``.name.<host>-<pid>-<12 hex>.tmp``."""
    return f".{name}.{host or _HOST}-{os.getpid() if pid is None else pid}-{secrets.token_hex(6)}.tmp"


def resolve_target(path: str | os.PathLike, who: str = "write") -> Path:
    """The file a write to ``path`` replaces: ``path`` itself, or where it points when it is a symbolic link.

    Raises FileNotFoundError when the folder does not exist, IsADirectoryError when the target is a folder, and
    OSError for a link that cannot be resolved (a loop)."""
    path = Path(path)
    target = path
    if path.is_symlink():
        try:
            target = Path(os.path.realpath(path, strict=False))
        except (OSError, RuntimeError) as err:  # pragma: no cover - realpath(strict=False) rarely raises
            raise OSError(f"{who}: {path} is a symbolic link that cannot be followed ({err})") from None
        if target.is_symlink():  # realpath gives up on a loop and returns a link
            raise OSError(f"{who}: {path} is a symbolic link that cannot be followed (a loop of links)")
    folder = target.parent
    if not folder.is_dir():
        via = f" (the link {path} points to {target})" if target != path else ""
        raise FileNotFoundError(f"{who}: the folder {folder} of {target}{via} does not exist; create it first")
    if target.is_dir():
        raise IsADirectoryError(f"{who}: {target} is a folder; give the path of a file to write")
    return target


def _pid_running(pid: int) -> bool:
    """Whether a process with this id exists on this host (POSIX; True when it cannot be told)."""
    if os.name != "posix":  # pragma: no cover - POSIX only
        return True  # os.kill(pid, 0) would terminate the process on Windows
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's process (or an id the OS cannot even hold: treat as unknown)
    return True


def is_stale(entry: Path, name: str, now: float | None = None) -> bool:
    """Whether ``entry`` is a leftover temporary of a write to ``name`` whose writer has stopped (see module doc)."""
    prefix = f".{name}."
    base = entry.name
    if not base.startswith(prefix):
        return False
    tail = base[len(prefix):]
    match = _TAIL.fullmatch(tail)
    if match is None and _LEGACY_TAIL.fullmatch(tail) is None:
        return False
    try:
        info = os.lstat(entry)
    except OSError:
        return False
    if not stat.S_ISREG(info.st_mode):
        return False
    if (time.time() if now is None else now) - info.st_mtime > STALE_AFTER:
        return True
    if match is None or match["host"] != _HOST:
        return False  # no pid recorded, or another host's: only age tells
    pid = int(match["pid"])
    return pid != os.getpid() and not _pid_running(pid)


def remove_stale_temporaries(target: str | os.PathLike) -> list[Path]:
    """Remove the stale temporaries of writes to ``target`` in its folder; returns the removed paths.

    Best effort: a temporary that cannot be listed or removed is left alone."""
    target = Path(target)
    folder = target.parent
    prefix = f".{target.name}."
    removed: list[Path] = []
    try:
        entries = [folder / n for n in os.listdir(folder) if n.startswith(prefix) and n.endswith(".tmp")]
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if is_stale(entry, target.name, now):
            with contextlib.suppress(OSError):
                entry.unlink()
                removed.append(entry)
    return removed


def _create_temporary(target: Path) -> tuple[int, Path]:
    """A new hidden file next to ``target``, created exclusively; it gets ``target``'s mode bits when that
    exists, the usual ``0o666 & ~umask`` otherwise."""
    while True:
        temporary = target.parent / temporary_name(target.name)
        try:
            fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue
        break
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        return fd, temporary
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
    except OSError:  # pragma: no cover - a filesystem without modes: the default mode stays
        pass
    return fd, temporary


def fsync_folder(folder: str | os.PathLike) -> None:
    """Make a rename in ``folder`` durable (POSIX); a no-op where folders cannot be opened or synced."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, who: str = "write") -> Iterator[Path]:
    """Yield the path of a fresh empty temporary next to ``path``; when the block ends without an exception and
    the temporary is a regular file, it is fsynced and renamed over ``path`` (links followed). On any exception,
    or when the block left no file, the temporary is removed and ``path`` is untouched.

    For tools that write a path themselves. The temporary's name ends in ``.tmp``: tell such a tool the format
    explicitly (``savefig(p, format="png")``, ``dot -Tsvg``)."""
    target = resolve_target(path, who)
    remove_stale_temporaries(target)
    fd, temporary = _create_temporary(target)
    os.close(fd)
    try:
        yield temporary
        with open(temporary, "rb+") as file:  # also fails when the tool removed the file: nothing to install
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    fsync_folder(target.parent)


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike, who: str = "write") -> Iterator[BinaryIO]:
    """Yield a binary file (mode ``w+b``) whose content replaces ``path`` atomically when the block ends without an
    exception; on any exception ``path`` keeps its previous content and no temporary remains."""
    target = resolve_target(path, who)
    remove_stale_temporaries(target)
    fd, temporary = _create_temporary(target)
    try:
        with os.fdopen(fd, "w+b") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    fsync_folder(target.parent)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, who: str = "write") -> Path:
    """Replace the file at ``path`` (links followed) by ``data``, atomically; returns the path written."""
    with atomic_writer(path, who) as file:
        file.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8", who: str = "write") -> Path:
    """Replace the file at ``path`` (links followed) by ``text`` encoded with ``encoding``, atomically."""
    return atomic_write_bytes(path, text.encode(encoding), who)


__all__ = ["STALE_AFTER", "atomic_path", "atomic_write_bytes", "atomic_write_text", "atomic_writer", "fsync_folder",
           "is_stale", "remove_stale_temporaries", "resolve_target", "temporary_name"]
