"""Writing the user's files (a snapshot, a diagram put into a README, fixed models): whole or
not at all, with the mode the file had."""

from __future__ import annotations

import os
import tempfile


def write_file(path, data: bytes) -> None:
    """Replace `path` with `data`: a temporary file beside it, then os.replace, so readers see
    the old or the new file, never part of one."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".astschema-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if os.path.exists(path):  # mkstemp makes 0600; keep the file's mode
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
