"""TensorFlow thread pools sized to the CPUs this process may use, and the CPU class that timings must name.

TensorFlow sizes its pools from the host's schedulable cores and runs independent ops side by side on an
inter-op pool, each op on an intra-op pool of the same size: on a 2-core machine up to 4 busy threads compete
for 2 cores, and a container limited by a cgroup CPU quota still sees every core of the host. Oversubscribed
pools cost most on shared machines (threads preempted inside a parallel op, futex churn = system time).
`train.threads` (default `auto`) sizes the pools from what the process may use: its CPU affinity and cgroup
quota, and lays them out for the family's step (`LAYOUTS`). Measured choices are in docs/speed.md.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

# Flags that decide which kernels TensorFlow / oneDNN can use (and so what a timing means).
CLASS_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile")


def cgroup_cpu_limit(root: str = "/sys/fs/cgroup") -> float | None:
    """CPUs allowed by the cgroup quota (v2 cpu.max or v1 cfs quota/period); None when unlimited or unknown."""
    base = Path(root)
    try:
        own = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        own = []
    candidates = []
    for line in own:  # the process's own cgroup first, then the mount root
        parts = line.split(":", 2)
        if len(parts) == 3 and (parts[0] == "0" or "cpu" in parts[1].split(",")):
            rel = parts[2].lstrip("/")
            candidates += [base / rel, base / "cpu" / rel, base / "cpu,cpuacct" / rel]
    candidates += [base, base / "cpu", base / "cpu,cpuacct"]
    for d in candidates:
        try:
            quota, period = (d / "cpu.max").read_text().split()[:2]
            if quota != "max":
                return int(quota) / int(period)
            return None
        except (OSError, ValueError):
            pass
        try:
            quota = int((d / "cpu.cfs_quota_us").read_text())
            period = int((d / "cpu.cfs_period_us").read_text())
            return quota / period if quota > 0 and period > 0 else None
        except (OSError, ValueError):
            pass
    return None


def available_cpus() -> int:
    """CPUs this process may use: its affinity mask, capped by the cgroup quota (rounded up), at least 1."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        n = os.cpu_count() or 1
    quota = cgroup_cpu_limit()
    if quota:
        n = min(n, max(1, math.ceil(quota)))
    return max(1, n)


# How `auto` lays the CPUs out, by the shape of a family's train step (a family declares its own, models/base.py):
# kernels: (CPUs, 1), one op at a time on every CPU: a chain of large convolutions (the DCGAN-style step);
# ops: (1, CPUs), each op on one thread and independent ops side by side: many small ops in branches that do not
# wait for each other (a translator's two generators and two discriminators at batch 4), where waking a second
# thread for every small op costs more than it gives (docs/speed.md: CycleGAN 1.59x, system time 11 % -> 2 %).
LAYOUTS = ("kernels", "ops")


def resolve_threads(setting, strategy: str = "default", layout: str = "kernels") -> tuple[int, int]:
    """(intra-op, inter-op) threads for a `train.threads` value.

    auto -> by `layout` (LAYOUTS above): (available CPUs, 1) or (1, available CPUs). Under a tf.distribute
    strategy auto keeps TensorFlow's inter-op pool (0): collectives block a thread while they wait for their
    peers. An int N -> (N, 1); [intra, inter] -> as given; 'tf' -> TF's own defaults (0, 0)."""
    from keras_gans.core.errors import UserError

    if setting in (None, "auto"):
        n = available_cpus()
        if strategy != "default":
            return n, 0
        return (1, n) if layout == "ops" else (n, 1)
    if setting in (0, "tf", "default"):
        return 0, 0
    if isinstance(setting, bool):
        raise UserError(f"train.threads must be auto, tf, a positive integer or [intra, inter]; got {setting!r}")
    if isinstance(setting, int) and setting > 0:
        return setting, 1
    if isinstance(setting, (list, tuple)) and len(setting) == 2 and all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in setting
    ):
        return int(setting[0]), int(setting[1])
    raise UserError(f"train.threads must be auto, tf, a positive integer or [intra, inter]; got {setting!r}")


def configure_threads(setting="auto", strategy: str = "default", layout: str = "kernels") -> tuple[int, int]:
    """Apply `train.threads` to TensorFlow's pools (before the runtime starts); returns what is in force.

    Once TensorFlow has run an op its pools are fixed: a different request is then ignored (with one line on
    stderr), so a second model in the same process (tests, notebooks) keeps working."""
    import sys

    import tensorflow as tf

    intra, inter = resolve_threads(setting, strategy, layout)
    th = tf.config.threading
    if (th.get_intra_op_parallelism_threads(), th.get_inter_op_parallelism_threads()) == (intra, inter):
        return intra, inter
    try:
        th.set_intra_op_parallelism_threads(intra)
        th.set_inter_op_parallelism_threads(inter)
    except RuntimeError:  # the runtime already started in this process
        if setting not in (None, "auto"):
            print(f"train.threads={setting!r} not applied: TensorFlow already started in this process",
                  file=sys.stderr)
        return th.get_intra_op_parallelism_threads(), th.get_inter_op_parallelism_threads()
    return intra, inter


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return set(next((line for line in f if line.startswith("flags")), "").split(":", 1)[-1].split())
    except OSError:
        return set()


def cpu_class() -> str:
    """One line naming the CPU a timing was taken on: model, CPUs usable, and the flags that decide the kernels,
    e.g. 'Intel(R) Xeon(R) Processor, 2 CPUs usable (of 2), AVX2 FMA AVX512F AVX512_VNNI AVX512_BF16 AMX_BF16'."""
    import platform

    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    except OSError:
        pass
    flags = cpu_flags()
    have = [f.upper() for f in CLASS_FLAGS if f in flags and f != "amx_tile"]
    if flags and "avx512f" not in flags:
        have.append("no AVX-512")
    if flags and not flags & {"avx512_bf16", "amx_bf16"}:
        have.append("no bf16")
    quota = cgroup_cpu_limit()
    q = f", cgroup quota {quota:g}" if quota else ""
    return f"{model}, {available_cpus()} CPUs usable (of {os.cpu_count()}{q}), {' '.join(have) or 'flags unknown'}"
