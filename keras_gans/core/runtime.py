"""The process's runtime, set once before any layer is built: thread pools, seeds, op determinism, the
mixed-precision policy, the tf.distribute strategy and which worker is the chief. The driver (`train`) and
`load_run` both start here, so a restored model computes as the trained one did."""

from __future__ import annotations

import os

from keras_gans.core.errors import UserError
from keras_gans.core.threads import configure_threads, cpu_flags


def configure_runtime(cfg: dict, thread_layout: str = "kernels"):
    """Thread pools (laid out for the family's step: core/threads.LAYOUTS), seeds, op determinism and the
    mixed-precision policy, before any layer is built."""
    import keras
    import tensorflow as tf

    t = cfg["train"]
    # before any op runs: TF's pools are fixed from then on
    configure_threads(t.get("threads", "auto"), t["strategy"], thread_layout)
    keras.utils.set_random_seed(int(t["seed"]))
    if t["deterministic"]:
        tf.config.experimental.enable_op_determinism()
    policy = resolve_precision(t["mixed_precision"])
    keras.mixed_precision.set_global_policy(policy)
    return policy


def resolve_precision(name: str) -> str:
    """'auto' -> mixed_float16 on a GPU, mixed_bfloat16 on a CPU with native bf16 (AVX-512-BF16 / AMX), else
    float32. Chosen by measurement (docs/speed.md): bf16 trains the 64 px DCGAN ~1.5x faster on such CPUs."""
    if name in (None, "auto"):
        return auto_precision()
    if name not in ("float32", "mixed_bfloat16", "mixed_float16"):
        raise UserError(f"train.mixed_precision must be auto, float32, mixed_bfloat16 or mixed_float16; got {name!r}")
    return name


def auto_precision() -> str:
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return "mixed_float16"
    # not Linux (no /proc/cpuinfo): no cheap way to ask, keep the exact path
    return "mixed_bfloat16" if cpu_flags() & {"avx512_bf16", "amx_bf16"} else "float32"


def make_strategy(name: str):
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if not tf.config.list_logical_devices("GPU"):
            # Several CPU devices: reduce through one device. The default collective all-reduce can run the
            # optimizer's and synchronized BatchNorm's collectives in a different order on each replica
            # ("Shape mismatch in the collective instance"), seen intermittently on a loaded 2-core machine.
            return tf.distribute.MirroredStrategy(cross_device_ops=tf.distribute.ReductionToOneDevice())
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise UserError("train.strategy=multiworker needs TF_CONFIG set on every worker (see docs/training.md, 'Several machines')")
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise UserError(f"unknown strategy '{name}' (default, mirrored or multiworker)")


def is_chief(strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0)
