"""A hand-in's files, within bounds: where its graded folder is, whether it is refused, and its
files as entries (links kept as links) from which every batch route grades a fresh copy.

Nothing here follows a link or recurses in Python over a hand-in's tree, and every size is read
with lstat before any file is opened, so a hand-in 1,500 folders deep, holding a 200 GB sparse
file, a FIFO or a million files costs its own row (:class:`Refused`) and nothing else.
"""
from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from grader.core import kit
from grader.core.target import Target
from grader.core.text import clip

MAX_BYTES = 64 << 20  # of files in one hand-in's graded folder
MAX_ENTRIES = 10_000  # files, folders and links in one walked tree
MAX_DEPTH = 32  # folders below the top of one walked tree
NOT_SHIPPED = frozenset({".git", "__MACOSX", "__pycache__"})  # history, archive junk, compiled caches: never graded
Entry = tuple[str, str, bytes]  # (kind: dir | file | link, POSIX path in the hand-in, content or link target)
KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
         stat.S_IFBLK: "a block device"}


class Refused(Exception):
    """The hand-in cannot be graded as handed in; ``str()`` is the one-line reason for its row."""


def kind_of(mode: int) -> str:
    """What an lstat mode is, in words: 'a folder', 'a file', 'a symbolic link', 'a FIFO', ..."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISREG(mode):
        return "a file"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return KINDS.get(stat.S_IFMT(mode), "a special file")


def shown(rel: str) -> str:
    """A path inside a hand-in as a reason may show it (undecodable bytes and control codes escaped)."""
    return clip(rel, 200)


def walk(top: Path, skip: frozenset[str] = frozenset()) -> Iterator[tuple[str, Path, os.stat_result]]:
    """(POSIX path below ``top``, path, lstat) of everything under ``top``, parents first, names
    sorted, links never followed, folders named in ``skip`` left out. Iterative, so depth costs
    no recursion; raises :class:`Refused` past MAX_DEPTH folders or MAX_ENTRIES entries."""
    pending: list[tuple[str, Path, int]] = [("", top, 0)]
    count = 0
    while pending:
        prefix, folder, depth = pending.pop()
        found = []
        try:
            with os.scandir(folder) as scan:
                for entry in scan:
                    count += 1
                    if count > MAX_ENTRIES:
                        raise Refused(f"refused: {shown(top.name)} holds more than {MAX_ENTRIES:,} files and folders")
                    found.append(entry.name)
        except OSError as exc:
            raise Refused(f"refused: {shown(prefix.rstrip('/') or top.name)} cannot be read ({exc.strerror or exc})") from None
        below = []
        for name in sorted(found):
            path, rel = folder / name, f"{prefix}{name}"
            info = os.lstat(path)
            if stat.S_ISDIR(info.st_mode) and name in skip:
                continue
            yield rel, path, info
            if stat.S_ISDIR(info.st_mode):
                if depth + 1 > MAX_DEPTH:
                    raise Refused(f"refused: {shown(rel)} lies more than {MAX_DEPTH} folders deep; hand in a "
                                  "shallower tree")
                below.append((f"{rel}/", path, depth + 1))
        pending.extend(reversed(below))


def _candidates(folder: Path) -> list[Path]:
    """The folder's subfolders (links to folders included), at most MAX_ENTRIES looked at."""
    found = []
    with os.scandir(folder) as scan:
        for count, entry in enumerate(scan):
            if count >= MAX_ENTRIES:
                raise Refused(f"refused: {shown(folder.name)} holds more than {MAX_ENTRIES:,} files and folders")
            if os.path.isdir(folder / entry.name):  # False for a link to itself (DirEntry.is_dir raises)
                found.append(folder / entry.name)
    return sorted(found)


def handin_root(folder: Path, names: list[str]) -> Path:
    """The folder laid out like exercises/ within a hand-in (itself, exercises/, or one level down)."""
    subfolders = _candidates(folder)
    for candidate in [folder, folder / "exercises", *subfolders, *(p / "exercises" for p in subfolders)]:
        if any((candidate / name).is_dir() for name in names):
            return candidate
    return folder


def graded_root(folder: Path, names: list[str]) -> Path:
    """The folder of the hand-in ``folder`` to grade; raises :class:`Refused` when the hand-in is
    not a real folder, is a link or leads through one on the way to that folder, or is, holds or
    lies inside the kit's solutions/."""
    mode = os.lstat(folder).st_mode
    if stat.S_ISLNK(mode):
        raise Refused("refused: the hand-in is a symbolic link; hand in real folders")
    if not stat.S_ISDIR(mode):
        raise Refused(f"refused: the hand-in is {kind_of(mode)}, not a folder (unpack archives first)")
    if Target.handin(folder).reveals_solutions():
        raise Refused("refused: the hand-in is, holds or lies inside the kit's solutions/")
    root = handin_root(folder, names)
    step = folder
    for part in root.relative_to(folder).parts:
        step = step / part
        if os.path.islink(step):
            raise Refused(f"refused: {shown(step.relative_to(folder).as_posix())} in the hand-in is a symbolic "
                          "link; hand in real folders")
    return root


def reference_files() -> dict[tuple[int, int], str]:
    """(device, inode) -> path of each file of the kit's solutions/ (none in a student copy)."""
    if not kit.SOLUTIONS_DIR.is_dir():
        return {}
    return {(info.st_dev, info.st_ino): f"solutions/{rel}" for rel, _, info in walk(kit.SOLUTIONS_DIR)
            if stat.S_ISREG(info.st_mode)}


def reference_copy(root: Path) -> str | None:
    """Why ``root`` may not be graded where it lies: it holds a file of the kit's solutions/ under
    another name (a hard link or a bind mount, which no link check sees), or it is past the bounds
    of :func:`walk`; None when it may."""
    reference = reference_files()
    try:
        for rel, _, info in walk(root, skip=NOT_SHIPPED):
            if stat.S_ISREG(info.st_mode) and (same := reference.get((info.st_dev, info.st_ino))) is not None:
                return f"refused: {shown(rel)} is the kit's {same} under another name (a hard link)"
    except Refused as exc:
        return str(exc)
    return None


def pack(root: Path, limit: int = MAX_BYTES) -> list[Entry]:
    """The tree under ``root`` as entries, links kept as links (never followed), without the folders
    of NOT_SHIPPED. Every entry is walked and sized with lstat before any file is opened; raises
    :class:`Refused` for more than ``limit`` bytes of files, anything that is not a file, folder or
    link, a file of the kit's solutions/ under another name, or a tree past the bounds."""
    listed = list(walk(root, skip=NOT_SHIPPED))
    total = 0
    reference: dict[tuple[int, int], str] | None = None
    for rel, _, info in listed:
        if not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode)):
            raise Refused(f"refused: {shown(rel)} is {kind_of(info.st_mode)}; hand in only files and folders")
        if stat.S_ISREG(info.st_mode):  # a hard link, or a bind mount, of the reference
            reference = reference_files() if reference is None else reference
            if (same := reference.get((info.st_dev, info.st_ino))) is not None:
                raise Refused(f"refused: {shown(rel)} is the kit's {same} under another name (a hard link)")
        if stat.S_ISREG(info.st_mode):
            total += info.st_size
            if total > limit:
                raise Refused(f"refused: the hand-in holds more than {limit >> 20} MiB of files "
                              f"({shown(rel)} is {info.st_size:,} bytes)")
    entries: list[Entry] = []
    for rel, path, info in listed:
        if stat.S_ISLNK(info.st_mode):
            entries.append(("link", rel, os.fsencode(os.readlink(path))))
        elif stat.S_ISDIR(info.st_mode):
            entries.append(("dir", rel, b""))
        else:
            entries.append(("file", rel, read_exactly(path, rel, info.st_size)))
    return entries


def read_exactly(path: Path, rel: str, size: int) -> bytes:
    """The ``size`` bytes of the file at ``path``, opened without following a link or blocking on a
    FIFO swapped in since it was listed; raises :class:`Refused` if it is no longer that file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise Refused(f"refused: {shown(rel)} cannot be read ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise Refused(f"refused: {shown(rel)} changed while the hand-in was read")
        data = stream.read(size + 1)
    if len(data) != size:
        raise Refused(f"refused: {shown(rel)} changed while the hand-in was read")
    return data


def unpack(entries: list[Entry], root: Path) -> None:
    """Recreate ``pack``'s entries as a fresh folder ``root``. Raises ValueError for an entry that
    would be written outside ``root`` or through a link, and :class:`Refused` for a link whose
    target, resolved in the copy, is not inside ``root``: on every route a link in a hand-in may
    name only that hand-in's own files, never another hand-in's, the kit's or the grading machine's."""
    root.mkdir(parents=True)
    folders, links = {""}, []
    for kind, rel, data in entries:
        parts = PurePosixPath(rel).parts
        parent = "/".join(parts[:-1])
        if not parts or PurePosixPath(rel).is_absolute() or ".." in parts or parent not in folders:
            raise ValueError(f"refusing to unpack {rel!r} outside the hand-in")
        path = root.joinpath(*parts)
        if kind == "dir":
            path.mkdir()
            folders.add(rel)
        elif kind == "link":
            os.symlink(os.fsdecode(data), path)
            links.append((rel, path, data))
        else:
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644), "wb") as f:
                f.write(data)
    real_root = root.resolve()
    for rel, path, data in links:
        if not Path(os.path.realpath(path)).is_relative_to(real_root):
            raise Refused(f"refused: {shown(rel)} is a symbolic link to {shown(os.fsdecode(data))}, outside the "
                          "hand-in; links may point only inside it")
