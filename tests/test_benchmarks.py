"""The benchmarks measure what we train: the reference formulation and the plain-Keras and PyTorch arms of
benchmarks/bench_compare.py build our architecture (same parameter counts)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _count(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def test_reference_has_our_course_baseline_architecture():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from reference_dcgan import reference_discriminator, reference_generator

    from keras_gans import nets
    from keras_gans.config import load_config

    cfg = load_config("dcgan", {"data.image_size": 64})
    ours_g = nets.build_generator(cfg["net"], (64, 64, 3))
    ours_d = nets.build_discriminator(cfg["net"], (64, 64, 3))
    ref_g, ref_d = reference_generator(100, 64, 3, 64), reference_discriminator(64, 3, 64)
    assert _count(ref_g) == _count(ours_g) == 5_126_723  # 512-256-128-64 widths, k5
    assert _count(ref_d) == _count(ours_d)
    assert ref_g.output_shape == ours_g.output_shape == (None, 64, 64, 3)
    conv_shapes = lambda m: [tuple(w.shape) for w in m.weights if "kernel" in w.path]  # noqa: E731
    assert conv_shapes(ref_g) == conv_shapes(ours_g)
    assert conv_shapes(ref_d) == conv_shapes(ours_d)


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
