"""Replacing a file so that a reader never sees it half written."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator, Optional


@contextmanager
def atomic_file(path: Path, mode: Optional[int] = None) -> Iterator[BinaryIO]:
    """A temporary file beside ``path`` that replaces it when the block completes, and is removed if it fails.

    ``mode``: the permissions it gets (default: those a plain ``open()`` would create, not mkstemp's 0600).
    """
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            yield out
        if mode is None:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
