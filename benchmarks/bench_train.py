"""Training and generation throughput of keras_gans against the keras-io reference formulation, in one run.
(keras_gans vs a plain Keras loop vs PyTorch, side by side: benchmarks/bench_compare.py.)

    python benchmarks/bench_train.py                       # our defaults (precision auto) vs reference float32
    python benchmarks/bench_train.py --precision float32   # like for like
    python benchmarks/bench_train.py --models dcgan --steps 8 --warmup 3 --jit

Images/s is the median over timed train steps (after warm-up steps that include tracing) of
real images consumed per second (batch x d_steps for a train step). Synthetic uint8 data of the right shape
feeds our own tf.data pipeline (keras_gans.data.pipeline.make_train_dataset), so its overhead is included;
families other than the GAN family train on their preset's own data (few images) through train.prepare().
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

# Model -> (preset, overrides). WGAN-GP falls back to dcgan + overrides when no wgan_gp preset exists.
MODELS = {
    # the keras-io reference's step: transposed convs, no R1 (the dcgan preset's MNIST recipe has both since issue 29)
    "dcgan": ("dcgan", {"net.g_upsample": "transpose", "gan.r1_gamma": 0.0}),
    "wgan_gp": ("wgan_gp", {}),
    "acgan": ("acgan", {}),
    "cyclegan": ("cyclegan", {}),
}
WGAN_GP_FALLBACK = {
    "loss.type": "wgan", "gan.gp_weight": 10.0, "net.d_norm": "layer", "gan.d_steps": 5,
    "train.beta_1": 0.0, "train.beta_2": 0.9, "train.g_lr": 1e-4, "train.d_lr": 1e-4,
}
COMMON = {"data.image_size": 64, "net.dim": 64, "train.batch_size": 64}


class Runner:
    """A compiled model and its dataset; `run(n)` fits n more steps and returns the per-step images/s.

    The first interval of each fit call (iterator start-up) is dropped, so calls can be interleaved: the DCGAN
    and the reference alternate in short rounds, which keeps a busy shared machine from favouring either."""

    def __init__(self, model, dataset, images_per_step: int, steps_per_execution: int = 1):
        import keras

        self.model, self.dataset = model, dataset
        self.images = images_per_step * steps_per_execution
        self.spe = steps_per_execution
        runner = self

        class _Marks(keras.callbacks.Callback):
            def on_train_begin(cb, logs=None):
                runner.marks = [(time.perf_counter(), time.process_time())]

            def on_train_batch_end(cb, batch, logs=None):
                runner.marks.append((time.perf_counter(), time.process_time()))

        self.cb = _Marks()
        self.marks: list[float] = []
        self.rates: list[float] = []
        self.cpu_rates: list[float] = []

    def run(self, executions: int, keep: bool = True) -> list[float]:
        self.model.fit(self.dataset, epochs=1, steps_per_epoch=executions * self.spe, callbacks=[self.cb], verbose=0)
        m = self.marks[1:]  # drop the first interval: iterator start-up (and tracing on the first call)
        rates = [self.images / (b[0] - a[0]) for a, b in zip(m[:-1], m[1:])]
        cpus = os.cpu_count() or 1
        cpu_rates = [self.images * cpus / max(b[1] - a[1], 1e-9) for a, b in zip(m[:-1], m[1:])]
        if keep:
            self.rates.extend(rates)
            self.cpu_rates.extend(cpu_rates)
        return rates

    @property
    def median(self) -> float:
        return statistics.median(self.rates) if self.rates else float("nan")

    @property
    def cpu_median(self) -> float:
        """Images per CPU-second x CPUs: what an idle machine would give if the step keeps every core busy.
        Far less sensitive than wall time to other processes sharing the cores."""
        return statistics.median(self.cpu_rates) if self.cpu_rates else float("nan")


def load_bench_config(name: str, args):
    from keras_gans.config.loader import CONFIG_DIR, load_config

    preset, extra = MODELS[name]
    overrides = dict(COMMON)
    if name == "wgan_gp" and not (CONFIG_DIR / "wgan_gp.yaml").is_file():
        preset, extra = "dcgan", WGAN_GP_FALLBACK
    if not (CONFIG_DIR / f"{preset}.yaml").is_file():
        return None, f"no configs/{preset}.yaml in this tree"
    overrides.update(extra)
    overrides["train.mixed_precision"] = args.precision
    overrides["train.jit_compile"] = bool(args.jit)
    overrides["train.steps_per_execution"] = args.steps_per_execution
    overrides["train.verbose"] = 0
    if name not in ("dcgan", "wgan_gp"):
        overrides["data.max_images"] = args.max_images
        overrides.pop("net.dim")
    for item in args.set or []:
        k, v = item.split("=", 1)
        import yaml

        overrides[k] = yaml.safe_load(v)
    return load_config(preset, overrides), preset


def build_ours(name: str, args):
    """(Runner, info dict) for one of our models, or (None, {'skipped': why})."""
    import numpy as np

    from keras_gans.training import driver as tr
    from keras_gans.training.build import build_model
    from keras_gans.core.runtime import configure_runtime
    from keras_gans.data.pipeline import make_train_dataset
    from keras_gans.models import family_class

    cfg, preset = load_bench_config(name, args)
    if cfg is None:
        return None, {"model": name, "skipped": preset}
    try:
        policy = configure_runtime(cfg, family_class(cfg["model"]).thread_layout)  # as `train` lays threads out
        if cfg["model"] == "gan":
            family = family_class("gan")
            s = cfg["data"]["image_size"]
            rng = np.random.default_rng(0)
            arrays = {"image": rng.integers(0, 256, (512, s, s, 3), dtype=np.uint8)}
            info = {"image_shape": [s, s, 3], "n_images": 512}
        else:
            family, arrays, info = tr.prepare(cfg)
        t = cfg["train"]
        model = build_model(cfg, info)
    except Exception as e:  # a family that is not in this tree, or its data
        return None, {"model": name, "skipped": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"}
    per_step = t["batch_size"] * family.real_batches_per_step(cfg)
    spe = max(1, int(t["steps_per_execution"] or 1))
    n = min(len(v) for v in arrays.values())
    ds = make_train_dataset(arrays, per_step, max(1, n // per_step), seed=0, image_keys=family.image_keys)
    info = {
        "model": name, "preset": preset, "batch": t["batch_size"], "d_steps": cfg["gan"]["d_steps"], "precision": policy,
        "jit": bool(t["jit_compile"]), "steps_per_execution": spe, "image_shape": info["image_shape"],
    }
    return Runner(model, ds, per_step, spe), info


def finite_logs(model) -> bool:
    import numpy as np

    trackers = getattr(model, "trackers", None) or {m.name: m for m in model.metrics}
    return all(np.isfinite(float(v.result())) for v in trackers.values())


def build_reference(args):
    import keras
    import numpy as np

    from reference_dcgan import build_reference as build, reference_dataset

    keras.mixed_precision.set_global_policy(args.ref_precision)
    keras.utils.set_random_seed(0)
    images = np.random.default_rng(0).integers(0, 256, (512, 64, 64, 3), dtype=np.uint8)
    gan = build(100, 64, 3, 64, jit_compile=bool(args.ref_jit))
    keras.mixed_precision.set_global_policy("float32")
    info = {"model": "reference", "batch": 64, "d_steps": 1, "precision": args.ref_precision, "jit": bool(args.ref_jit),
            "steps_per_execution": 1, "image_shape": [64, 64, 3]}
    return Runner(gan, reference_dataset(images, 64), 64), info


def describe(r: dict) -> str:
    return (f"{r['model']:>10}: {r['images_per_s']:7.1f} img/s wall, {r['cpu_images_per_s']:7.1f} img/s CPU-time  batch {r['batch']} x d_steps {r['d_steps']}, "
            f"{r['precision']}, jit={r['jit']}, spe={r['steps_per_execution']}, finite={r.get('finite')}")


def bench_pipeline(batches: int = 60) -> float:
    """Images/s of our training input pipeline alone (64 px RGB, batch 64): is it ever the bottleneck?"""
    import numpy as np

    from keras_gans.data.pipeline import make_train_dataset

    arrays = {"image": np.random.default_rng(0).integers(0, 256, (512, 64, 64, 3), dtype=np.uint8)}
    it = iter(make_train_dataset(arrays, 64, 8, seed=0))
    for _ in range(5):
        next(it)
    t0 = time.perf_counter()
    for _ in range(batches):
        next(it)["image"].numpy()
    return batches * 64 / (time.perf_counter() - t0)


def bench_generation(model, repeats: int):
    """Images/s of the exported SavedModel's serving_default at batch 1 and 64 (median over calls)."""
    import tensorflow as tf

    from keras_gans.export.savedmodel import export_model, load_export

    out = {}
    with tempfile.TemporaryDirectory() as d:
        path = export_model(model, d, "bench")
        sm = load_export(path)
        fn = sm.signatures["serving_default"]
        latent = model.cfg["net"]["latent_dim"]
        for b in (1, 64):
            z = tf.random.normal([b, latent])
            for _ in range(3):
                fn(z=z)
            times = []
            for _ in range(repeats if b > 1 else repeats * 5):
                t0 = time.perf_counter()
                fn(z=z)["images"].numpy()
                times.append(time.perf_counter() - t0)
            out[b] = b / statistics.median(times)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="dcgan,wgan_gp,acgan,cyclegan", help="comma-separated: " + ",".join(MODELS))
    p.add_argument("--precision", default="auto", help="ours: auto | float32 | mixed_bfloat16 | mixed_float16")
    p.add_argument("--jit", action="store_true", help="ours: jit_compile=True (XLA)")
    p.add_argument("--steps-per-execution", type=int, default=1, help="ours: train steps per tf.function call")
    p.add_argument("--ref-precision", default="float32", help="reference: float32 | mixed_bfloat16")
    p.add_argument("--ref-jit", action="store_true")
    p.add_argument("--no-reference", action="store_true")
    p.add_argument("--no-export", action="store_true")
    p.add_argument("--steps", type=int, default=9, help="timed steps (executions) per model")
    p.add_argument("--round", type=int, default=3, help="timed steps per interleaved round (DCGAN vs reference)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (tracing, allocation)")
    p.add_argument("--max-images", type=int, default=256, help="images for the non-GAN families' preset data")
    p.add_argument("--set", action="append", help="extra config override for our models, KEY=VALUE")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)

    import keras

    names = [m.strip() for m in args.models.split(",") if m.strip()]
    for name in names:
        if name not in MODELS:
            p.error(f"unknown model {name!r} (choose from {', '.join(MODELS)})")
    from keras_gans.core.threads import cpu_class

    load0 = os.getloadavg()[0]
    cpu = cpu_class()
    print(f"CPU: {cpu}\nprecision: ours {args.precision}, reference {args.ref_precision}", flush=True)
    print(f"load average before: {load0:.2f} on {os.cpu_count()} CPUs"
          + ("  (machine NOT idle)" if load0 > 0.5 else "  (idle)"), flush=True)
    results, dcgan = [], None

    # 1. The DCGAN and the reference, interleaved in rounds.
    if "dcgan" in names:
        runner, info = build_ours("dcgan", args)
        keras.mixed_precision.set_global_policy("float32")
        pair = [(runner, info)]
        if not args.no_reference:
            pair.append(build_reference(args))
        for r, _ in pair:
            r.run(args.warmup + 1, keep=False)
        rounds = max(1, -(-args.steps // args.round))
        for _ in range(rounds):
            for r, _ in pair:
                r.run(args.round + 1)
        for r, info in pair:
            info.update(images_per_s=r.median, cpu_images_per_s=r.cpu_median, finite=finite_logs(r.model))
            results.append(info)
            print(describe(info), flush=True)
        dcgan = runner.model
        if len(pair) == 2:
            ratio = pair[0][1]["images_per_s"] / pair[1][1]["images_per_s"]
            cpu_ratio = pair[0][1]["cpu_images_per_s"] / pair[1][1]["cpu_images_per_s"]
            results.append({"model": "ratio", "ours_over_reference": ratio, "cpu_time_ratio": cpu_ratio})
            print(f"ratio ours/reference (DCGAN 64 px, batch 64): {ratio:.2f}x wall time, {cpu_ratio:.2f}x CPU time",
                  flush=True)

    # 2. The other families, one at a time.
    for name in names:
        if name == "dcgan":
            continue
        runner, info = build_ours(name, args)
        if runner is None:
            print(f"{name:>10}: skipped ({info['skipped']})", flush=True)
        else:
            runner.run(args.warmup + 1, keep=False)
            runner.run(args.steps + 1)
            info.update(images_per_s=runner.median, cpu_images_per_s=runner.cpu_median, finite=finite_logs(runner.model))
            print(describe(info), flush=True)
            del runner
        results.append(info)
        keras.mixed_precision.set_global_policy("float32")

    pipe = bench_pipeline()
    print(f"input pipeline alone (64 px RGB, batch 64): {pipe:.0f} img/s", flush=True)
    gen = None
    if dcgan is not None and not args.no_export:
        gen = bench_generation(dcgan, repeats=10)
        print(f"SavedModel generation (DCGAN 64 px, serving_default): batch 1 {gen[1]:.1f} img/s, "
              f"batch 64 {gen[64]:.1f} img/s", flush=True)
    load1 = os.getloadavg()[0]
    print(f"load average after: {load1:.2f}" + ("  (machine busy: figures are noisy)" if max(load0, load1) > 2.5 else ""),
          flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"cpu": cpu, "results": results, "pipeline": pipe, "generation": gen, "load": [load0, load1]}, indent=1))
    return results


if __name__ == "__main__":
    main()
