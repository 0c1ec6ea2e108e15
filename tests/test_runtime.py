"""The runtime a run starts with: thread-pool sizing from affinity and cgroup quota, the CPU class line, and the
precision auto-selection."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_cgroup_quota_v2_and_v1(tmp_path, monkeypatch):
    from keras_gans.core import threads

    monkeypatch.setattr(threads.Path, "read_text", _reader(tmp_path, threads.Path.read_text), raising=True)
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert threads.cgroup_cpu_limit(str(tmp_path)) == 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert threads.cgroup_cpu_limit(str(tmp_path)) is None
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu.cfs_quota_us").write_text("300000\n")
    (tmp_path / "cpu.cfs_period_us").write_text("100000\n")
    assert threads.cgroup_cpu_limit(str(tmp_path)) == 3.0
    (tmp_path / "cpu.cfs_quota_us").write_text("-1\n")
    assert threads.cgroup_cpu_limit(str(tmp_path)) is None


def _reader(tmp_path, real):
    def read_text(self, *a, **k):  # /proc/self/cgroup -> a process in the root group
        if str(self) == "/proc/self/cgroup":
            return "0::/\n"
        return real(self, *a, **k)

    return read_text


def test_available_cpus_follows_affinity_and_quota(monkeypatch):
    from keras_gans.core import threads

    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.setattr(threads, "cgroup_cpu_limit", lambda root="": None)
    assert threads.available_cpus() == 4
    monkeypatch.setattr(threads, "cgroup_cpu_limit", lambda root="": 1.5)
    assert threads.available_cpus() == 2  # a 1.5-CPU quota: 2 threads, not the host's 4
    monkeypatch.setattr(threads, "cgroup_cpu_limit", lambda root="": 0.2)
    assert threads.available_cpus() == 1


def test_resolve_threads_values_and_errors(monkeypatch):
    from keras_gans.core import threads
    from keras_gans.core.errors import UserError

    monkeypatch.setattr(threads, "available_cpus", lambda: 3)
    assert threads.resolve_threads("auto") == (3, 1)
    assert threads.resolve_threads(None) == (3, 1)
    assert threads.resolve_threads("auto", "mirrored") == (3, 0)  # collectives keep TF's inter-op pool
    assert threads.resolve_threads("tf") == (0, 0)
    # the translators' layout: each op on one thread, independent ops side by side; explicit values win
    assert threads.resolve_threads("auto", layout="ops") == (1, 3)
    assert threads.resolve_threads("auto", "mirrored", layout="ops") == (3, 0)
    assert threads.resolve_threads([2, 1], layout="ops") == (2, 1)
    assert threads.resolve_threads(2) == (2, 1)
    assert threads.resolve_threads([2, 2]) == (2, 2)
    for bad in ("many", -1, [1], [1, "x"], True, 1.5):
        with pytest.raises(UserError, match="train.threads"):
            threads.resolve_threads(bad)


def test_families_declare_their_thread_layout():
    """Every family names a layout `auto` knows; the translators run their branches side by side (docs/speed.md)."""
    from keras_gans.core.threads import LAYOUTS
    from keras_gans.models import FAMILIES, family_class
    from keras_gans.models.capabilities import TRANSLATOR, has

    for name in FAMILIES:
        cls = family_class(name)
        assert cls.thread_layout in LAYOUTS, name
        assert cls.thread_layout == ("ops" if has(cls, TRANSLATOR) else "kernels"), name


def test_threads_config_key_reaches_configure_runtime():
    import tensorflow as tf

    from keras_gans.config.loader import load_config
    from keras_gans.core.errors import UserError
    from keras_gans.core.runtime import configure_runtime

    assert load_config("dcgan")["train"]["threads"] == "auto"
    # the documented forms pass the config check (they once failed it: "must be a string")
    assert load_config("dcgan", {"train.threads": 2})["train"]["threads"] == 2
    assert load_config("dcgan", {"train.threads": [1, 2]})["train"]["threads"] == [1, 2]
    with pytest.raises(UserError, match="train.threads"):
        configure_runtime(load_config("dcgan", {"train.threads": "lots", "train.mixed_precision": "float32"}))
    configure_runtime(load_config("dcgan", {"train.mixed_precision": "float32"}))  # started runtime: no error
    assert tf.config.threading.get_intra_op_parallelism_threads() >= 0


def test_cpu_class_names_the_flags_that_matter():
    from keras_gans.core.threads import cpu_class, cpu_flags

    line = cpu_class()
    assert "CPUs usable" in line
    flags = cpu_flags()
    if flags:
        assert ("AVX2" in line) == ("avx2" in flags)
        assert ("no AVX-512" in line) == ("avx512f" not in flags)
        assert ("no bf16" in line) == (not flags & {"avx512_bf16", "amx_bf16"})


def test_auto_precision_follows_the_cpu_flags():
    from keras_gans.core.runtime import auto_precision, resolve_precision

    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    expected = "mixed_bfloat16" if ("avx512_bf16" in flags or "amx_bf16" in flags) else "float32"
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        expected = "mixed_float16"
    assert auto_precision() == expected == resolve_precision("auto")
    assert resolve_precision("float32") == "float32"
