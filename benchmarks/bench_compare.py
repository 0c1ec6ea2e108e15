"""Side by side, in one run: keras_gans' `dcgan` preset vs a plain Keras loop vs PyTorch, same nets, same update order.

    python benchmarks/bench_compare.py --out benchmarks/results/compare_float32          # float32, all arms
    python benchmarks/bench_compare.py --arms ours,plain --rounds 2 --steps 4           # a quick look
    python benchmarks/bench_compare.py --arms "ours,ours:train.threads=tf,plain"        # ablate one key

Every arm runs in its own process (its own thread pools, nothing shared but the cores) and waits, idle, while
the others run. Arms take turns in rounds, A B C then C B A, so a load that comes and goes favours none; each
round times `--steps` consecutive train steps of one arm (after untimed warm-up steps that include tracing).
For every round it records wall time, the arm's CPU time (user + system, all its threads) and the load average,
and prints images/s per round, the medians, and the paired ratios ours/plain and ours/PyTorch (from adjacent
turns of the same round). The course-baseline DCGAN at 64 px, batch 64 (G Dense -> 4x4x512, ConvTranspose k5 s2
256-128-64-3 with BN; D Conv k5 s2 64-128-256-512 with BN; Adam 2e-4).

Arms: ours (keras_gans `dcgan` preset via keras_gans.training.build.build_model and its tf.data pipeline), plain
(benchmarks/plain_keras_dcgan.py), reference (the keras-io formulation, benchmarks/reference_dcgan.py), torch
(eager, NCHW), torch_cl (eager, channels-last). `ours:KEY=VALUE;KEY=VALUE` is ours with config overrides (several
variants may run side by side); `env.NAME=VALUE` among them sets an environment variable in that arm only
(e.g. `ours:env.KERAS_GANS_FUSED_BN=0` for Keras' own BatchNormalization); `ours:bench.from_generator=true` is
ours in a process that has built one `Dataset.from_generator` (as our pipeline did before issue 23). `--isa avx2`
caps every arm's instruction set alike (what an AVX2-only CPU runs); the header prints the ISA oneDNN really uses. PyTorch arms are skipped with a message when torch is not installed
(`pip install -e ".[bench]"`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

# the course-baseline nets at 64 px (512-256-128-64, k5), as the other arms build them; the dcgan preset itself
# trains narrower, deeper-G nets at 28 px since issue 29, with resize-convolutions and an R1 penalty since its round 3:
# the arms here keep the course baseline's step (transposed convs, no R1), as plain Keras and PyTorch run it
COURSE_NETS = {"net.dim": 64, "net.g_filters": None, "net.g_strides": None, "net.g_upsample": "transpose",
               "gan.r1_gamma": 0.0}
BATCH, SIZE, N_IMAGES = 64, 64, 512
CG_BATCH = 4  # --model cyclegan: the `cyclegan` preset's batch (64 px, G 32 filters / 6 blocks, D 32 filters)


def _mark():
    import resource

    t, r = os.times(), resource.getrusage(resource.RUSAGE_SELF)
    return (time.perf_counter(), t.user, t.system, r.ru_minflt)


# --isa: the same instruction-set cap for every arm (oneDNN in TensorFlow and PyTorch, and PyTorch's ATen kernels).
ISA_CAPS = {"native": {}, "avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"},
            "avx512": {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE", "ATEN_CPU_CAPABILITY": "avx512"}}

_PROBE = {"tf": "import tensorflow as tf; tf.nn.conv2d(tf.ones([1, 8, 8, 8]), tf.ones([3, 3, 8, 8]), 1, 'SAME')",
          "torch": "import torch; torch.nn.functional.conv2d(torch.ones(1, 8, 8, 8), torch.ones(8, 8, 3, 3)); "
                   "print('aten:', torch.backends.cpu.get_cpu_capability())"}


def effective_isa(env: dict, framework: str = "tf") -> str:
    """The instruction set oneDNN really dispatches to under `env` (one conv in a child with ONEDNN_VERBOSE=1):
    e.g. 'Intel AVX2 with...' or 'Intel AVX-512 with AVX512BW...'; for PyTorch also ATen's CPU capability."""
    import subprocess

    child = {**os.environ, **env, "ONEDNN_VERBOSE": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    try:
        out = subprocess.run([sys.executable, "-c", _PROBE[framework]], env=child, capture_output=True, text=True,
                             timeout=300).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unknown ({type(e).__name__})"
    isa = next((line.split("isa:", 1)[1].strip() for line in out.splitlines() if "isa:" in line), None)
    aten = next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("aten:")), None)
    if isa is None and aten is None:
        return "not installed" if framework == "torch" and "Error" in out else "unknown (no oneDNN verbose line)"
    return (isa or "?") + (f"; ATen {aten}" if aten else "")


def _images(seed: int = 0):
    import numpy as np

    return np.random.default_rng(seed).integers(0, 256, (N_IMAGES, SIZE, SIZE, 3), dtype=np.uint8)


def _overrides(spec: str) -> dict:
    import yaml

    out = {}
    for item in filter(None, spec.split(",")):
        k, v = item.split("=", 1)
        out[k.strip()] = yaml.safe_load(v)
    return out


def _touch_generator_dataset():
    """What keras_gans' pipeline did to the process before issue 23: build and read one Dataset.from_generator.
    Its kernel calls mallopt(M_MMAP_THRESHOLD, 128 KiB) process-wide (TensorFlow's Python 3.11 memory patch);
    `ours:bench.from_generator=true` measures the step under that setting, side by side with the fixed one."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_generator(lambda: iter([0]), output_signature=tf.TensorSpec((), tf.int32))
    next(iter(ds))


def _keras_arm(arm: str, opts: dict):
    """(model, dataset, info) for a Keras arm."""
    import keras

    precision = opts["precision"]
    if arm.split(":")[0] == "ours":
        from keras_gans.training.build import build_model
        from keras_gans.core.runtime import configure_runtime
        from keras_gans.config.loader import load_config
        from keras_gans.data.pipeline import make_train_dataset

        cyclegan = opts.get("model") == "cyclegan"
        batch = CG_BATCH if cyclegan else BATCH
        overrides = {"data.image_size": SIZE, "train.batch_size": batch, "train.mixed_precision": precision,
                     "train.verbose": 0, **({} if cyclegan else COURSE_NETS)}
        extra = _overrides(arm.partition(":")[2])
        overrides.update({k: v for k, v in extra.items() if not k.startswith(("env.", "bench."))})
        cfg = load_config("cyclegan" if cyclegan else "dcgan", overrides)
        from keras_gans.models import family_class

        policy = configure_runtime(cfg, family_class(cfg["model"]).thread_layout)  # as `train` lays the threads out
        if extra.get("bench.from_generator"):
            _touch_generator_dataset()  # after the thread pools are set: only the allocator setting differs
        t = cfg["train"]
        if cyclegan:
            a, b = _images(), _images(1)
            model = build_model(cfg, {"image_shape": [SIZE, SIZE, 3], "n_images": N_IMAGES, "n_a": N_IMAGES,
                                         "n_b": N_IMAGES, "steps_per_epoch": N_IMAGES // batch,
                                         "samples": {"a": [], "b": []}})
            ds = make_train_dataset({"a": a, "b": b}, batch, N_IMAGES // batch, seed=0, image_keys=("a", "b"))
        else:
            model = build_model(cfg, {"image_shape": [SIZE, SIZE, 3], "n_images": N_IMAGES})
            ds = make_train_dataset({"image": _images()}, BATCH * cfg["gan"]["d_steps"], N_IMAGES // BATCH, seed=0)
        import tensorflow as tf

        th = tf.config.threading
        return model, ds, {"precision": policy, "threads": [th.get_intra_op_parallelism_threads(),
                                                            th.get_inter_op_parallelism_threads()],
                           "spe": int(t["steps_per_execution"] or 1), "jit": bool(t["jit_compile"]),
                           "images_per_step": batch * (1 if cyclegan else cfg["gan"]["d_steps"])}
    import tensorflow as tf

    if opts.get("model") == "cyclegan":
        raise ValueError(f"skipped: no '{arm}' arm for --model cyclegan (ours, torch, torch_cl)")
    threads = opts.get("tf_threads") or "tf"
    if threads != "tf":
        from keras_gans.core.threads import configure_threads

        configure_threads(threads)
    keras.utils.set_random_seed(0)
    keras.mixed_precision.set_global_policy(precision)
    if arm == "plain":
        from plain_keras_dcgan import build_plain, plain_dataset

        model, ds = build_plain(), plain_dataset(_images(), BATCH)
    else:
        from reference_dcgan import build_reference, reference_dataset

        model, ds = build_reference(), reference_dataset(_images(), BATCH)
    th = tf.config.threading
    return model, ds, {"precision": precision, "threads": [th.get_intra_op_parallelism_threads(),
                                                           th.get_inter_op_parallelism_threads()],
                       "spe": 1, "jit": False, "images_per_step": BATCH}


def worker(arm: str, opts: dict, conn):
    """Child process: build the arm, then run ('run', k) turns of k timed steps until ('stop',)."""
    os.environ.update(opts.get("env") or {})
    if ":" in arm:  # per-arm environment: ours:env.KERAS_GANS_FUSED_BN=0
        os.environ.update({k[4:]: str(v) for k, v in _overrides(arm.partition(":")[2]).items() if k.startswith("env.")})
    from keras_gans.core import quiet

    quiet.install()  # TensorFlow's start-up log lines off this child's stderr too (the parent's hook is not inherited)
    import warnings

    warnings.filterwarnings("ignore", message=".*shuffle=True.*")  # fit on a tf.data stream: benign
    try:
        if arm.startswith("torch"):
            _torch_worker(arm, opts, conn)
        else:
            _keras_worker(arm, opts, conn)
    except Exception as e:  # report, do not hang the parent
        conn.send(("error", f"{type(e).__name__}: {e}"))


def _torch_worker(arm, opts, conn):
    try:
        import torch
    except ImportError:
        conn.send(("error", "skipped: torch is not installed (pip install -e '.[bench]')"))
        return
    if opts["precision"] != "float32":
        conn.send(("error", f"skipped: the PyTorch arm runs float32 only (asked {opts['precision']})"))
        return
    if opts.get("model") == "cyclegan":
        from torch_cyclegan import TorchCycleGAN

        model = TorchCycleGAN(channels_last=arm == "torch_cl", batch=CG_BATCH)
        it = model.batches(_images(), _images(1))
    else:
        from torch_dcgan import TorchDCGAN

        model = TorchDCGAN(channels_last=arm == "torch_cl", batch=BATCH)
        it = model.batches(_images())
    conn.send(("ready", {"precision": "float32", "threads": [torch.get_num_threads(), torch.get_num_interop_threads()],
                         "spe": 1, "jit": False, "torch": torch.__version__,
                         "images_per_step": CG_BATCH if opts.get("model") == "cyclegan" else BATCH}))
    while True:
        cmd = conn.recv()
        if cmd[0] == "stop":
            return
        marks, losses = [_mark()], None
        for _ in range(cmd[1]):
            losses = model.step(next(it))
            marks.append(_mark())
        conn.send(("done", marks, list(losses)))


def _keras_worker(arm, opts, conn):
    import keras
    import numpy as np

    model, ds, info = _keras_arm(arm, opts)
    conn.send(("ready", info))
    spe = info["spe"]

    class Gate(keras.callbacks.Callback):
        """Holds fit between turns (waiting here is outside every timed interval)."""

        def on_train_begin(self, logs=None):
            self.wait()

        def on_train_batch_end(self, batch, logs=None):
            self.marks.append(_mark())
            self.left -= 1
            if self.left == 0:
                vals = [float(v) for k, v in (logs or {}).items() if k in ("d_loss", "g_loss")]
                conn.send(("done", self.marks, vals if all(np.isfinite(vals)) else None))
                self.wait()

        def wait(self):
            cmd = conn.recv()
            if cmd[0] == "stop":
                self.model.stop_training, self.left = True, -1
            else:
                self.left, self.marks = max(1, cmd[1] // spe), [_mark()]

    model.fit(ds, epochs=1, steps_per_epoch=10**7 // spe, callbacks=[Gate()], verbose=0)


def cpu_line() -> str:
    from keras_gans.core.threads import cpu_class

    return cpu_class()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=("dcgan", "cyclegan"), default="dcgan", help="dcgan: the course-baseline "
                   "DCGAN (64 px, batch 64); cyclegan: the `cyclegan` preset's step (64 px, batch 4) vs the same in "
                   "PyTorch (benchmarks/torch_cyclegan.py; arms ours, torch, torch_cl)")
    p.add_argument("--arms", default=None, help="comma-separated arms (see above; default ours,plain,torch,torch_cl "
                   "for dcgan, ours,torch,torch_cl for cyclegan); 'ours:k=v;k=v' for variants (';' separates overrides "
                   "inside one arm)")
    p.add_argument("--precision", default="float32", help="Keras arms: float32 | mixed_bfloat16 (PyTorch: float32)")
    p.add_argument("--rounds", type=int, default=4, help="rounds; even rounds run the arms in reverse order")
    p.add_argument("--steps", type=int, default=6, help="timed train steps per arm per round")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps per arm first (tracing, allocation)")
    p.add_argument("--tf-threads", default="tf", help="plain/reference arms: 'tf' (TensorFlow's defaults, what a "
                   "plain script gets) or a train.threads value, e.g. auto, 2, [2,1]")
    p.add_argument("--isa", choices=sorted(ISA_CAPS), default="native", help="cap every arm's instruction set "
                   "alike: avx2 = ONEDNN_MAX_CPU_ISA=AVX2 + ATEN_CPU_CAPABILITY=avx2 (what an AVX2-only CPU runs)")
    p.add_argument("--env", action="append", default=[], help="KEY=VALUE set in every arm's process (e.g. oneDNN)")
    p.add_argument("--out", help="write OUT.json and OUT.log (e.g. benchmarks/results/compare_float32)")
    args = p.parse_args(argv)

    import multiprocessing as mp

    import yaml

    if args.arms is None:
        args.arms = "ours,torch,torch_cl" if args.model == "cyclegan" else "ours,plain,torch,torch_cl"
    arms = [a.strip().replace(";", ",") for a in args.arms.split(",") if a.strip()]
    opts = {"model": args.model, "precision": args.precision, "tf_threads": yaml.safe_load(args.tf_threads),
            "env": {**ISA_CAPS[args.isa], **dict(e.split("=", 1) for e in args.env)}}
    log_lines: list[str] = []

    def say(line=""):
        print(line, flush=True)
        log_lines.append(line)

    say(f"CPU: {cpu_line()}")
    what = (f"CycleGAN preset step 64 px, batch {CG_BATCH}" if args.model == "cyclegan" else f"DCGAN 64 px, batch {BATCH}")
    say(f"precision: {args.precision} (Keras arms); PyTorch arms float32 | {what} | "
        f"{args.rounds} rounds x {args.steps} steps, warm-up {args.warmup} | env {opts['env'] or '-'}")
    isa = {"tensorflow": effective_isa(opts["env"], "tf")}
    if any(a.startswith("torch") for a in arms):
        isa["torch"] = effective_isa(opts["env"], "torch")
    say(f"--isa {args.isa}: effective ISA " + " | ".join(f"{k}: {v}" for k, v in isa.items()))
    load0 = os.getloadavg()
    say(f"load average before: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f} on {os.cpu_count()} CPUs"
        + ("  (machine NOT idle: other processes share the cores)" if load0[0] > 0.5 else "  (idle)"))
    ctx = mp.get_context("spawn")
    live, info, skipped = {}, {}, {}
    for arm in arms:  # start and warm up one at a time: tracing is CPU-heavy
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=worker, args=(arm, opts, child), daemon=True)
        proc.start()
        msg = parent.recv()
        if msg[0] == "error":
            skipped[arm] = msg[1]
            say(f"{arm:>12}: {msg[1]}")
            proc.join(5)
            continue
        info[arm] = msg[1]
        parent.send(("run", args.warmup))
        msg = parent.recv()
        if msg[0] == "error":
            skipped[arm] = msg[1]
            say(f"{arm:>12}: failed: {msg[1]}")
            continue
        live[arm] = (proc, parent)
        say(f"{arm:>12}: ready  {info[arm]}")

    rounds: list[dict] = []
    order = [a for a in arms if a in live]
    for r in range(args.rounds):
        seq = order if r % 2 == 0 else order[::-1]
        row = {"round": r + 1, "order": seq, "load": os.getloadavg()[0], "arms": {}}
        for arm in seq:
            proc, conn = live[arm]
            conn.send(("run", args.steps))
            msg = conn.recv()
            if msg[0] != "done":
                say(f"{arm}: {msg}")
                continue
            marks, losses = msg[1], msg[2]
            (t0, u0, s0, f0), (t1, u1, s1, f1) = marks[0], marks[-1]
            n_img = info[arm]["images_per_step"] * (args.steps if info[arm]["spe"] == 1 else (len(marks) - 1) * info[arm]["spe"])
            row["arms"][arm] = {"images_per_s": n_img / (t1 - t0), "wall_s": t1 - t0, "user_s": u1 - u0,
                                "sys_s": s1 - s0, "images": n_img, "finite": losses is not None,
                                "page_faults": f1 - f0}
        row["load_after"] = os.getloadavg()[0]
        rounds.append(row)
        say(f"round {r + 1} (load {row['load']:.2f}->{row['load_after']:.2f}): " + "  ".join(
            f"{a} {v['images_per_s']:.1f} img/s [cpu {v['user_s'] + v['sys_s']:.1f}s, sys {v['sys_s']:.1f}s / wall "
            f"{v['wall_s']:.1f}s]" for a, v in row["arms"].items()))
    for arm, (proc, conn) in live.items():
        conn.send(("stop",))
        proc.join(30)

    summary = {}
    say("")
    say(f"{'arm':>28} | img/s median (per round) | CPU-s/img (user+sys) | sys share | faults/img | finite")
    for arm in order:
        rs = [row["arms"][arm] for row in rounds if arm in row["arms"]]
        if not rs:
            continue
        med = statistics.median(x["images_per_s"] for x in rs)
        cpu = sum(x["user_s"] + x["sys_s"] for x in rs) / sum(x["images"] for x in rs)
        sys_share = sum(x["sys_s"] for x in rs) / max(1e-9, sum(x["user_s"] + x["sys_s"] for x in rs))
        faults = sum(x["page_faults"] for x in rs) / sum(x["images"] for x in rs)
        summary[arm] = {"images_per_s_median": med, "per_round": [x["images_per_s"] for x in rs],
                        "cpu_s_per_image": cpu, "sys_share": sys_share, "page_faults_per_image": faults, "finite": all(x["finite"] for x in rs),
                        **info[arm]}
        per = ", ".join(f"{x['images_per_s']:.1f}" for x in rs)
        say(f"{arm:>28} | {med:6.1f} ({per}) | {cpu * 1000:6.1f} ms "
            f"| {100 * sys_share:4.1f} % | {faults:7.0f} | {summary[arm]['finite']}")

    def paired(a, b):
        rs = [row["arms"][a]["images_per_s"] / row["arms"][b]["images_per_s"] for row in rounds
              if a in row["arms"] and b in row["arms"]]
        cpu_a = summary[a]["cpu_s_per_image"] if a in summary else None
        cpu_b = summary[b]["cpu_s_per_image"] if b in summary else None
        return rs, (cpu_b / cpu_a if cpu_a and cpu_b else None)

    ratios = {}
    ours = [a for a in order if a.startswith("ours")]
    torch_arms = [a for a in order if a.startswith("torch")]
    best_torch = max(torch_arms, key=lambda a: summary[a]["images_per_s_median"]) if torch_arms else None
    for a in ours:
        for b in [x for x in order if x not in ours] + ours[:ours.index(a)]:
            rs, cpu_ratio = paired(a, b)
            if rs:
                key = f"{a} / {b}"
                ratios[key] = {"per_round": rs, "median": statistics.median(rs), "cpu_time_ratio": cpu_ratio,
                               "best_torch": b == best_torch}
                say(f"ratio {key}: {statistics.median(rs):.2f}x wall (per round {', '.join(f'{x:.2f}' for x in rs)}), "
                    f"{cpu_ratio:.2f}x per CPU-second" + ("   <- PyTorch's best mode in this run" if b == best_torch else ""))
    load1 = os.getloadavg()
    say(f"load average after: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    result = {"model": args.model, "cpu": cpu_line(), "isa_cap": args.isa, "effective_isa": isa, "precision": args.precision, "batch": BATCH, "image_size": SIZE,
              "rounds": rounds, "summary": summary, "ratios": ratios, "skipped": skipped,
              "load_before": load0, "load_after": load1, "args": vars(args),
              "time": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".json").write_text(json.dumps(result, indent=1))
        out.with_suffix(".log").write_text("\n".join(log_lines) + "\n")
    return result


if __name__ == "__main__":
    main()
