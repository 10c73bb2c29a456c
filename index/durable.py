"""Files that survive a crash: fsync'ed contents, fsync'ed folders, JSON replaced by one atomic rename."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def fsync_dir(path: Path) -> None:
    """Make the names in a folder (new files, renames) survive a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(folder: Path) -> None:
    """Every file in `folder` (not recursive) and the folder itself."""
    for path in folder.iterdir():
        if path.is_file():
            fsync_file(path)
    fsync_dir(folder)


def write_json(path: Path, data: Any) -> None:
    """Replace `path` with `data` as JSON: a temp file, fsync, one rename; readers see old or new, whole."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".json")
    os.chmod(tmp, 0o644)  # mkstemp makes it private; a server may run as another user
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)
