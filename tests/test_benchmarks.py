"""The benchmarks measure what we train: the reference formulation and the plain-Keras and PyTorch arms of
benchmarks/bench_compare.py build our architecture (same parameter counts)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_compare import COURSE_NETS  # noqa: E402  (the 64-px course-baseline nets every arm builds)


def _count(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def test_reference_has_our_course_baseline_architecture():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from reference_dcgan import reference_discriminator, reference_generator

    from keras_gans import nets
    from keras_gans.config.loader import load_config

    cfg = load_config("dcgan", {"data.image_size": 64, **COURSE_NETS})
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
    from keras_gans.config.loader import load_config

    cfg = load_config("dcgan", {"data.image_size": 64, **COURSE_NETS})
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


@pytest.mark.slow
def test_torch_cyclegan_arm_builds_the_cyclegan_preset_nets():
    """benchmarks/torch_cyclegan.py: the `cyclegan` preset's G and D parameter counts (as Keras builds them) and
    the score-map shape; one finite step (needs [bench])."""
    torch = pytest.importorskip("torch", reason="the PyTorch arm needs the [bench] extra")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from torch_cyclegan import TorchCycleGAN

    from keras_gans.config.loader import load_config
    from keras_gans.nets.patchgan import build_patchgan
    from keras_gans.nets.resnet import build_resnet_generator

    c = load_config("cyclegan", {"data.image_size": 64})["cyclegan"]
    g = build_resnet_generator((64, 64, 3), c["g_filters"], c["n_blocks"], fixed_size=True)
    d = build_patchgan((64, 64, 3), c["d_filters"], c["d_layers"])
    arm = TorchCycleGAN(batch=2)
    assert sum(p.numel() for p in arm.g_ab.parameters()) == _count(g) == 1_966_915
    assert sum(p.numel() for p in arm.d_a.parameters()) == _count(d) == 694_689
    assert tuple(arm.d_a(torch.zeros(2, 3, 64, 64)).shape) == (2, 1) + tuple(d.output_shape[1:3])
    x = np.random.default_rng(0).integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)
    assert all(np.isfinite(arm.step(next(arm.batches(x, x[::-1].copy())))))


def test_isa_cap_applies_to_every_arm():
    """--isa avx2 caps oneDNN (TensorFlow and PyTorch) and PyTorch's ATen alike, before any arm starts."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_compare

    assert bench_compare.ISA_CAPS["avx2"] == {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
    assert bench_compare.ISA_CAPS["native"] == {}
