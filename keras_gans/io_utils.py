"""Atomic file writes: write beside the target under a temporary name, then rename, so a crash never leaves a
half-written file where a reader expects a whole one."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


TMP_MARK = ".tmp-"  # temporary names look like ".NAME.tmp-XXXX": hidden, and found again by remove_stale_temps


def remove_stale_temps(folder: str | Path) -> int:
    """Delete temporaries a killed process left below `folder` (ours, and TensorFlow's checkpoint *_temp dirs)."""
    n = 0
    for p in Path(folder).rglob(f".*{TMP_MARK}*"):
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        n += 1
    ckpts = Path(folder) / "checkpoints"
    if ckpts.is_dir():
        for pattern in ("*_temp*", "*tempstate*", "checkpoint.tmp*"):
            for p in ckpts.glob(pattern):
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
                n += 1
    return n


# errno -> (reason, what to do); the write errors a user can fix (a full disk, a read-only or foreign folder)
_DISK_ERRNOS = {
    errno.ENOSPC: ("no space left on the device", "free some space there"),
    errno.EDQUOT: ("disk quota exceeded", "free some space there"),
    errno.EROFS: ("the file system is read-only", "choose a folder you can write to"),
    errno.EACCES: ("permission denied", "choose a folder you can write to"),
    errno.EPERM: ("operation not permitted", "choose a folder you can write to"),
}
_DISK_TEXTS = {  # the same errors as TensorFlow reports them (an OpError whose message holds the OS text)
    "No space left on device": errno.ENOSPC, "Disk quota exceeded": errno.EDQUOT,
    "Read-only file system": errno.EROFS, "Permission denied": errno.EACCES,
}


def disk_error(e: BaseException) -> dict | None:
    """{path, reason, fix, full} when `e` is a write error the user can fix (full disk, read-only folder), else
    None. Understands OSError and TensorFlow's errors (which carry the OS message in their text)."""
    code, path = None, None
    if isinstance(e, OSError) and e.errno in _DISK_ERRNOS:
        code, path = e.errno, e.filename
    elif type(e).__module__.startswith("tensorflow"):
        text = str(getattr(e, "message", None) or e)
        code = next((c for t, c in _DISK_TEXTS.items() if t in text), None)
        if code is not None:
            path = _path_in(text)
    if code is None:
        return None
    reason, fix = _DISK_ERRNOS[code]
    return {"path": str(path) if path else None, "reason": reason, "fix": fix, "full": code in (errno.ENOSPC, errno.EDQUOT)}


def _path_in(text: str) -> str | None:
    """The first absolute-looking path in a TensorFlow error message (it names the file it failed on)."""
    import re

    paths = [m.group(1) for m in re.finditer(r"(?:^|[\s'\"])(/[^\s;,'\"]+)", text) if not m.group(1).startswith("/job:")]
    if not paths:
        return None
    path = paths[-1]
    m = re.match(r"(.*?)/[^/]*_temp(/|$)", path)  # a checkpoint's temporary folder: name the folder it is in
    return m.group(1) if m else path


def disk_error_message(info: dict, what: str = "") -> str:
    """One line: what could not be written, where, why and what to do."""
    where = f" {info['path']}" if info["path"] else ""
    return f"could not write{' ' + what if what else ''}{where}: {info['reason']}; {info['fix']}"


def progbar(total: int, unit_name: str = "step"):
    """A Keras progress bar that draws itself on a terminal and prints one plain line (no ANSI codes, no \\b)
    when stdout is redirected to a log."""
    import sys

    from keras.utils import Progbar

    return Progbar(total, unit_name=unit_name, verbose=1 if sys.stdout.isatty() else 2)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | Path, suffix: str = ""):
    """Yield a temporary path in the target's folder; on success rename it over the target."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{TMP_MARK}", suffix=suffix or path.suffix, dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the result the usual permissions
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def read_csv(path: str | Path) -> list[dict]:
    """Rows of a CSV we wrote; a torn last line (possible only in files from other tools) is dropped."""
    import csv

    path = Path(path)
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r for r in rows if None not in r.values() and None not in r]


def save_figure(fig, path: str | Path, dpi: int = 100, **savefig_kwargs) -> Path:
    """Write a matplotlib figure as a PNG atomically (rendered in memory first, so a reader never sees half a
    file) and close it. The one figure writer: every plot in the package ends here."""
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, **savefig_kwargs)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)


@contextmanager
def atomic_dir(path: str | Path):
    """Yield a temporary folder beside `path`; on success it replaces `path` (an existing one is removed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}{TMP_MARK}", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
