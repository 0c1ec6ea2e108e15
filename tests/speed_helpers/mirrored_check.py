"""Run in a subprocess by tests/test_distributed.py (logical devices must not leak into other tests).

Trains one step of a tiny config with the default strategy (global batch 2N on one device) and with
MirroredStrategy over 2 logical CPUs (N per replica), from the same initial weights, and prints JSON with the
largest weight difference and the logged losses of both."""

import json
import re
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.dirname(HERE))

import tensorflow as tf  # noqa: E402

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402
from conftest import tiny_config  # noqa: E402

from keras_gans.training.driver import train  # noqa: E402

VARIANTS = {
    "dcgan": {"gan": {"reuse_fake": True}},
    "wgan_gp": {"loss": {"type": "wgan"}, "gan": {"gp_weight": 10.0, "d_steps": 2}, "net": {"d_norm": "layer"},
                "train": {"beta_1": 0.0, "beta_2": 0.9}},
}


def run(strategy, variant, steps):
    extra = VARIANTS[variant]
    cfg = tiny_config(
        train={"strategy": strategy, "steps_per_epoch": steps, "batch_size": 8, "mixed_precision": "float32",
               **extra.get("train", {})},
        loss=extra.get("loss", {}), net=extra.get("net", {}), gan=extra.get("gan", {}),
    )
    cfg["callbacks"]["n_samples"] = 4
    model, _, history = train(cfg, run_dir=tempfile.mkdtemp(), verbose=0)
    return model, {k: float(v[-1]) for k, v in history.items()}


out = {}
for variant in sys.argv[1].split(","):
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    a, la = run("default", variant, steps)
    b, lb = run("mirrored", variant, steps)
    names = [w.path for w in a.weights]
    diffs = [float(np.max(np.abs(np.asarray(x) - np.asarray(y)))) for x, y in zip(a.get_weights(), b.get_weights())]
    # A conv bias right before BatchNorm has a mathematically zero gradient; its float noise differs with the
    # reduction order and Adam scales any nonzero gradient to a step of ~lr, so it is compared separately.
    degenerate = [re.fullmatch(r"(discriminator/)?d_conv[2-9]/bias", n) is not None and variant == "dcgan" for n in names]
    regular = [d for d, g in zip(diffs, degenerate) if not g]
    i = int(np.argmax([d if not g else -1 for d, g in zip(diffs, degenerate)]))
    out[variant] = {"max_diff": max(regular), "worst": names[i], "max_diff_degenerate": max([0.0] + [d for d, g in zip(diffs, degenerate) if g]),
                    "n_degenerate": sum(degenerate), "replicas": int(b.distribute_strategy.num_replicas_in_sync),
                    "logs_default": la, "logs_mirrored": lb, "n_weights": len(diffs)}
print("RESULT " + json.dumps(out))
