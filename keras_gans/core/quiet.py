"""A quiet terminal: TensorFlow's start-up chatter kept off stderr, so a command shows only its own lines.

TF_CPP_MIN_LOG_LEVEL silences TensorFlow's C++ logging once it is read, but TensorFlow 2.16+ prints absl lines
while its shared libraries load, before any level is read ('WARNING: All log messages before absl::InitializeLog()
...', 'I0000 ... oneDNN custom operations are on ...', each once per library). No setting reaches them; the only
place to catch them is the stderr file descriptor during the first `import tensorflow`. `install()` puts an import
hook in front of that import which sends fd 2 to a temporary file for its duration and writes back every line that
is not such a log line (a real error still shows). It also turns Python-side absl/TensorFlow logging down to errors.

`--verbose` on the command line, or KERAS_GANS_VERBOSE=1 in the environment, lets all of it through (the variable is
inherited, so worker processes started by a command follow the same choice; a worker that runs `cli.py` installs
the hook itself). Standard library only: this runs before anything heavy is imported."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import re
import sys
import tempfile
from contextlib import contextmanager

ENV = "KERAS_GANS_VERBOSE"
# absl/glog-format INFO and WARNING lines ("I0000 00:00:1796656049.560317    5949 port.cc:153] ..."), absl's banner
# about logging before InitializeLog, and the second line of cpu_feature_guard's message.
NOISE = re.compile(rb"^(WARNING: All log messages before absl::InitializeLog\(\)"
                   rb"|[IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.\-]+:\d+\]"
                   rb"|To enable the following instructions: )")


def verbose() -> bool:
    return os.environ.get(ENV, "").strip().lower() not in ("", "0", "false", "no")


def set_verbose(on: bool = True) -> None:
    """--verbose: TensorFlow's logs back on, in this process and in every process it starts."""
    if on:
        os.environ[ENV] = "1"
        if os.environ.get("TF_CPP_MIN_LOG_LEVEL") == _OUR_LEVEL.get("value"):
            os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"


_OUR_LEVEL: dict = {}


def install() -> None:
    """Quiet TensorFlow from here on (idempotent): its C++ level, its start-up lines, its Python loggers."""
    if "TF_CPP_MIN_LOG_LEVEL" not in os.environ and not verbose():
        # 3: C++ ERROR lines too, e.g. grappler's "remapper failed" on a PatchGAN train step (benign: that graph
        # runs unfused). A failure that matters reaches the user as a Python exception, which is not touched.
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = _OUR_LEVEL["value"] = "3"
    if "tensorflow" in sys.modules:
        _quiet_python_loggers()
        return
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


@contextmanager
def filtered_stderr():
    """Everything written to file descriptor 2 inside the block, less the NOISE lines, is written out at its end."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # stderr replaced by an object without a descriptor (pytest, IDEs)
        fd = 2
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), fd)
        try:
            yield
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, fd)
            os.close(saved)
            tmp.seek(0)
            keep = [line for line in tmp.read().splitlines(keepends=True) if not NOISE.match(line)]
            if keep:
                os.write(fd, b"".join(keep))


def _quiet_python_loggers() -> None:
    import logging

    for name in ("absl", "tensorflow", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:
        pass


class _Loader(importlib.abc.Loader):
    """The real loader of `tensorflow`, run with stderr filtered (unless verbose by then)."""

    def __init__(self, real):
        self.real = real

    def create_module(self, spec):
        return self.real.create_module(spec)

    def exec_module(self, module):
        if verbose():
            return self.real.exec_module(module)
        with filtered_stderr():
            self.real.exec_module(module)
        _quiet_python_loggers()


class _Finder(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` as the import system would, and wraps its loader; then steps aside for good."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _Finder)]
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _Loader(spec.loader)
        return spec
