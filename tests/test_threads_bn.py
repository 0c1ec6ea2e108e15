"""Speed pieces: thread-pool sizing from affinity and cgroup quota, the CPU class line, and the fused
BatchNormalization that must train exactly as Keras' own."""

from __future__ import annotations

import numpy as np
import pytest


def test_cgroup_quota_v2_and_v1(tmp_path, monkeypatch):
    from keras_gans import threads

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
    from keras_gans import threads

    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.setattr(threads, "cgroup_cpu_limit", lambda root="": None)
    assert threads.available_cpus() == 4
    monkeypatch.setattr(threads, "cgroup_cpu_limit", lambda root="": 1.5)
    assert threads.available_cpus() == 2  # a 1.5-CPU quota: 2 threads, not the host's 4
    monkeypatch.setattr(threads, "cgroup_cpu_limit", lambda root="": 0.2)
    assert threads.available_cpus() == 1


def test_resolve_threads_values_and_errors(monkeypatch):
    from keras_gans import threads
    from keras_gans.errors import UserError

    monkeypatch.setattr(threads, "available_cpus", lambda: 3)
    assert threads.resolve_threads("auto") == (3, 1)
    assert threads.resolve_threads(None) == (3, 1)
    assert threads.resolve_threads("auto", "mirrored") == (3, 0)  # collectives keep TF's inter-op pool
    assert threads.resolve_threads("tf") == (0, 0)
    assert threads.resolve_threads(2) == (2, 1)
    assert threads.resolve_threads([2, 2]) == (2, 2)
    for bad in ("many", -1, [1], [1, "x"], True, 1.5):
        with pytest.raises(UserError, match="train.threads"):
            threads.resolve_threads(bad)


def test_threads_config_key_reaches_configure_runtime():
    import tensorflow as tf

    from keras_gans.config import load_config
    from keras_gans.errors import UserError
    from keras_gans.train import configure_runtime

    assert load_config("dcgan")["train"]["threads"] == "auto"
    with pytest.raises(UserError, match="train.threads"):
        configure_runtime(load_config("dcgan", {"train.threads": "lots", "train.mixed_precision": "float32"}))
    configure_runtime(load_config("dcgan", {"train.mixed_precision": "float32"}))  # started runtime: no error
    assert tf.config.threading.get_intra_op_parallelism_threads() >= 0


def test_cpu_class_names_the_flags_that_matter():
    from keras_gans.threads import cpu_class, cpu_flags

    line = cpu_class()
    assert "CPUs usable" in line
    flags = cpu_flags()
    if flags:
        assert ("AVX2" in line) == ("avx2" in flags)
        assert ("no AVX-512" in line) == ("avx512f" not in flags)
        assert ("no bf16" in line) == (not flags & {"avx512_bf16", "amx_bf16"})


@pytest.mark.parametrize("shape", [(8, 4, 4, 6), (6, 5)])
def test_fused_batch_norm_trains_like_keras(shape):
    import keras
    import tensorflow as tf

    from keras_gans.nets.fused_bn import FusedBatchNormalization

    x = tf.constant(np.random.default_rng(0).normal(2.0, 3.0, shape), tf.float32)
    ref = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)
    ours = FusedBatchNormalization(momentum=0.9, epsilon=1e-5)
    ref.build(shape)
    ours.build(shape)
    g = np.linspace(0.5, 1.5, shape[-1]).astype("float32")
    for layer in (ref, ours):
        layer.gamma.assign(g)
        layer.beta.assign(-g)
    w = tf.constant(np.random.default_rng(1).normal(size=shape), tf.float32)
    outs = []
    for layer in (ref, ours):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(y * w)
        gx, gg, gb = tape.gradient(loss, [x, layer.gamma, layer.beta])
        outs.append([y, gx, gg, gb, layer.moving_mean, layer.moving_variance, layer(x, training=False)])
    for a, b in zip(*outs):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-4, atol=2e-5)
    assert abs(float(ours.moving_variance[0]) - 0.1 - 0.9 * 1.0) > 1e-3  # the moving statistics did move


def test_fused_batch_norm_round_trips_through_keras_serialization(tmp_path):
    import keras

    from keras_gans.nets.blocks import norm_layer

    inp = keras.Input((4, 4, 3))
    model = keras.Model(inp, norm_layer("batch")(inp))
    path = tmp_path / "m.keras"
    model.save(path)
    again = keras.models.load_model(path)
    x = np.random.default_rng(0).normal(size=(2, 4, 4, 3)).astype("float32")
    np.testing.assert_allclose(model(x), again(x), atol=1e-6)
    assert type(again.layers[-1]).__name__ == "FusedBatchNormalization"


def test_benchmark_arms_train_the_same_nets():
    """The plain-Keras and PyTorch arms of benchmarks/bench_compare.py build the dcgan preset's nets at 64 px."""
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root / "benchmarks"))
    from plain_keras_dcgan import build_plain

    from keras_gans import nets
    from keras_gans.config import load_config

    cfg = load_config("dcgan", {"data.image_size": 64})
    count = lambda ws: int(sum(np.prod(tuple(w.shape)) for w in ws))  # noqa: E731
    ours_g = count(nets.build_generator(cfg["net"], (64, 64, 3)).trainable_weights)
    ours_d = count(nets.build_discriminator(cfg["net"], (64, 64, 3)).trainable_weights)
    plain = build_plain()
    assert (count(plain.generator.trainable_weights), count(plain.discriminator.trainable_weights)) == (ours_g, ours_d)
    assert (ours_g, ours_d) == (5_126_723, 4_316_545)


@pytest.mark.slow
def test_torch_arm_trains_the_same_nets():
    """benchmarks/torch_dcgan.py: the dcgan preset's parameter counts; one finite tutorial step (needs [bench])."""
    import sys
    from pathlib import Path

    torch = pytest.importorskip("torch", reason="the PyTorch arm needs the [bench] extra")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from torch_dcgan import TorchDCGAN

    ours_g, ours_d = 5_126_723, 4_316_545

    arm = TorchDCGAN(batch=4)
    assert sum(p.numel() for p in arm.g.parameters()) == ours_g
    assert sum(p.numel() for p in arm.d.parameters()) == ours_d
    assert tuple(arm.g(torch.zeros(4, 100)).shape) == (4, 3, 64, 64)
    d_loss, g_loss = arm.step(next(arm.batches(np.zeros((8, 64, 64, 3), np.uint8))))
    assert np.isfinite(d_loss) and np.isfinite(g_loss)
