"""Atomic file writes: write beside the target under a temporary name, then rename, so a crash never leaves a
half-written file where a reader expects a whole one. Every byte is written with a checked write (each os.write's
count checked, the file's size compared, fsync) before the rename, so a full disk raises instead of publishing a
torn file. The one image writer (`save_image`) and the one figure writer (`save_figure`) live here."""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path


TMP_MARK = ".tmp-"  # temporary names look like ".NAME.tmp-PID@HOST-XXXX": hidden, found again by remove_stale_temps
_TMP_NAME = re.compile(r"^\.(?P<target>.+?)\.tmp-(?:(?P<pid>\d+)(?:@(?P<host>[A-Za-z0-9_]+))?-)?[^/]*$")
_HOST = re.sub(r"[^A-Za-z0-9_]", "_", os.uname().nodename)[:40] or "host"
LEGACY_TEMP_AGE_S = 24 * 3600  # a temporary without a writer's pid (older versions) is stale after a day
_swept: set[str] = set()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, it is someone else's
        return True
    return True


def sweep_dead_temps(folder: str | Path) -> int:
    """Remove the temporaries in `folder` (not below it) whose writer is gone: `.NAME.tmp-PID@HOST-*` of this machine
    whose PID is no running process (a killed export, sample or transfer), and pid-less ones (older versions) older
    than a day.
    Called once per folder and process by every atomic writer, so a killed writer's leftovers go on the next write."""
    folder = Path(folder)
    n = 0
    try:
        entries = list(folder.glob(f".*{TMP_MARK}*"))
    except OSError:
        return 0
    for p in entries:
        m = _TMP_NAME.match(p.name)
        if not m:
            continue
        pid = m.group("pid")
        if pid and m.group("host") and m.group("host") != _HOST:
            continue  # another machine's writer (a shared file system): its processes are not ours to judge
        try:
            stale = (not _pid_alive(int(pid))) if pid else time.time() - p.lstat().st_mtime > LEGACY_TEMP_AGE_S
            if not stale or (pid and int(pid) == os.getpid()):
                continue
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() and not p.is_symlink() else p.unlink(missing_ok=True)
            n += 1
        except OSError:
            pass
    return n


def _sweep_once(folder: Path) -> None:
    key = str(folder.resolve())
    if key not in _swept:
        _swept.add(key)
        sweep_dead_temps(folder)


def target_of(path: str | Path | None) -> str | None:
    """The file a temporary stands for: `DIR/.x.png.tmp-12@h-ab` -> `DIR/x.png`, also inside a path
    (`out/.2.tmp-12@h-ab/variables` -> `out/2/variables`), so messages name what the user asked for."""
    if path is None:
        return None
    return re.sub(r"(^|/)\.([^/]+?)\.tmp-[^/]*", r"\1\2", str(path))


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
    path = getattr(e, "target", None) or target_of(path)  # the file the user asked for, never our temporary
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


def _mkstemp_beside(path: Path, suffix: str = "", directory: bool = False) -> Path:
    """A fresh hidden temporary `.NAME.tmp-PID@HOST-XXXX` in the target's folder (dead writers' ones swept first)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _sweep_once(path.parent)
    prefix = f".{path.name}{TMP_MARK}{os.getpid()}@{_HOST}-"
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=path.parent))
        os.chmod(tmp, 0o777 & ~_umask())
        return tmp
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the result the usual permissions
    return Path(tmp)


def _name_target(e: BaseException, path: Path) -> None:
    """Let an OSError met while writing `path` (through its temporary) name `path`: what disk_error reports."""
    if isinstance(e, OSError) and not getattr(e, "target", None):
        try:
            e.target = str(path)
        except AttributeError:
            pass


@contextmanager
def atomic_path(path: str | Path, suffix: str = ""):
    """Yield a temporary path in the target's folder; on success rename it over the target. For writers that need
    a path (TensorFlow, Keras); bytes made in Python go through atomic_write_bytes, whose every write is checked."""
    path = Path(path)
    try:
        tmp = _mkstemp_beside(path, suffix or path.suffix)
    except OSError as e:
        _name_target(e, path)
        raise
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as e:
        _name_target(e, path)
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of `data` to the open file descriptor, checking each write's count: a short write is
    retried, a write that takes nothing is a full disk (ENOSPC), never a silent truncation."""
    view = memoryview(data).cast("B")
    while view:
        n = os.write(fd, view[: 1 << 20])
        if n <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[n:]


def atomic_write_bytes(path: str | Path, data: bytes, fsync: bool = True) -> None:
    """Write `data` to `path` whole or not at all: a temporary beside it gets every byte (checked writes), its size
    is compared with len(data), it is fsynced (fsync=False: bulk writers such as `data make`, where a machine crash
    may lose the newest files but a full disk still leaves none torn), closed (errors checked) and renamed over
    `path`; any error removes the temporary and names `path`."""
    path = Path(path)
    data = memoryview(data).cast("B")  # no copy of a big encoded image
    with atomic_path(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC)
        try:
            write_all(fd, data)
            if fsync:
                os.fsync(fd)
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        if size != len(data):
            raise OSError(errno.EIO, f"wrote {size} of {len(data)} bytes", str(path))


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


# The formats an image can be written in, chosen by the file's extension.
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".gif": "GIF"}


def image_format(path: str | Path, allowed=(".png", ".jpg", ".jpeg", ".webp"), what: str = "") -> str:
    """The Pillow format for `path`'s extension, or a UserError naming the ones accepted (checked before any work,
    so `sample --out x.jpg` writes a JPEG and `--out x.tif` is refused at once, not after the model has run)."""
    from keras_gans.core.errors import UserError

    ext = Path(path).suffix.lower()
    if ext not in allowed:
        names = ", ".join(allowed)
        raise UserError(f"{what + ' ' if what else ''}{path}: the extension chooses the image format; use one of {names}"
                        + (f" (got '{ext}')" if ext else " (it has none)"))
    return IMAGE_FORMATS[ext]


def encode_image(image, fmt: str = "PNG", quality: int = 95, **options):
    """An image (uint8 array [H, W], [H, W, 1|3|4], or a PIL image) encoded in memory as PNG, JPEG, WEBP or GIF:
    bytes (over 16 MB: a memoryview of the encoder's buffer, to hold a big image's bytes once). JPEG has no alpha:
    RGBA is written as RGB."""
    import io

    import numpy as np
    from PIL import Image

    if not isinstance(image, Image.Image):
        a = np.asarray(image)
        if a.dtype != np.uint8:
            raise ValueError(f"images are written from uint8 pixels, got {a.dtype}")
        image = Image.fromarray(a[..., 0] if a.ndim == 3 and a.shape[-1] == 1 else a)
    fmt = fmt.upper()
    if fmt == "JPEG":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        options = {"quality": int(quality), **options}
    elif fmt == "WEBP":
        options = {"quality": int(quality), **options}
    buf = io.BytesIO()
    image.save(buf, format=fmt, **options)
    return buf.getbuffer() if buf.getbuffer().nbytes > (1 << 24) else buf.getvalue()  # big: the buffer, not a copy


def save_image(path: str | Path, image, fmt: str | None = None, quality: int = 95, fsync: bool = True,
               **options) -> Path:
    """THE image writer (sample, transfer, training grids, interpolate, compare, data make, the demo): encode in
    memory (format from the extension unless given), then atomic_write_bytes (checked writes, size check, fsync,
    rename). A full disk raises OSError naming `path` and leaves no file, never a torn one: Pillow's JPEG encoder,
    writing to a file itself, does not notice a disk that took only part of the file."""
    path = Path(path)
    fmt = fmt or IMAGE_FORMATS.get(path.suffix.lower()) or image_format(path, tuple(IMAGE_FORMATS))
    atomic_write_bytes(path, encode_image(image, fmt, quality, **options), fsync=fsync)
    return path


def save_figure(fig, path: str | Path, dpi: int = 100, palette: bool = False, **savefig_kwargs) -> Path:
    """Write a matplotlib figure as a PNG atomically (rendered in memory first, so a reader never sees half a
    file) and close it. The one figure writer: every plot in the package ends here (checked writes, as save_image).
    palette: a 256-colour palette PNG, docs-sized (the benchmarks' figures for docs/img)."""
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi, **savefig_kwargs)
    finally:
        plt.close(fig)
    data = buf.getvalue()
    if palette:
        from PIL import Image

        buf = io.BytesIO()
        Image.open(io.BytesIO(data)).convert("RGB").quantize(256).save(buf, format="PNG", optimize=True)
        data = buf.getvalue()
    atomic_write_bytes(path, data)
    return Path(path)


@contextmanager
def atomic_dir(path: str | Path):
    """Yield a temporary folder beside `path`; on success it replaces `path` (an existing one is removed)."""
    path = Path(path)
    try:
        tmp = _mkstemp_beside(path, directory=True)
    except OSError as e:
        _name_target(e, path)
        raise
    try:
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}@{_HOST}-old")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException as e:
        _name_target(e, path)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
