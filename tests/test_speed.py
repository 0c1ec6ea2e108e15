"""Speed work: the benchmark's reference formulation matches our architecture, precision auto-selection,
and the replica ordering of batches used under tf.distribute."""

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


def test_auto_precision_follows_the_cpu_flags():
    from keras_gans.train import auto_precision, resolve_precision

    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    expected = "mixed_bfloat16" if ("avx512_bf16" in flags or "amx_bf16" in flags) else "float32"
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        expected = "mixed_float16"
    assert auto_precision() == expected == resolve_precision("auto")
    assert resolve_precision("float32") == "float32"


@pytest.mark.parametrize("replicas,parts", [(2, 2), (2, 3), (4, 2), (1, 5), (3, 1)])
def test_replica_order_gives_each_replica_its_share_of_every_slice(replicas, parts):
    import tensorflow as tf

    from keras_gans.distributed import replica_order

    per = 2  # rows per replica per slice
    b = per * replicas * parts
    x = np.arange(b * 3, dtype=np.int32).reshape(b, 3)
    ds = replica_order(tf.data.Dataset.from_tensors({"image": x, "label": np.arange(b)}), replicas, parts)
    got = next(iter(ds))
    labels = got["label"].numpy()
    np.testing.assert_array_equal(got["image"].numpy(), x[labels])
    chunks = labels.reshape(replicas, parts, per)  # replica r's contiguous chunk, cut into its D-step slices
    for r in range(replicas):
        for i in range(parts):
            # under the default strategy slice i is rows [i*B, (i+1)*B), B = per*replicas; replica r holds part r
            start = i * per * replicas + r * per
            np.testing.assert_array_equal(chunks[r, i], np.arange(start, start + per))
