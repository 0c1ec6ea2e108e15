"""Sizes and speed per image of each export format, side by side on the same machine and threads: the SavedModel
signature (TensorFlow), its `.onnx` (ONNX Runtime) and `.tflite` (LiteRT interpreter, XNNPACK), float32.

    python benchmarks/bench_export_formats.py [--threads 2] [--batch 16] [--repeats 7]

For the shipped acgan (`serving_default`: z + hair + eyes -> 64 px faces) and ukiyoe (`b2a` at its 64 px working
size); format files missing beside a shipped export are converted into a temporary copy first. The three runtimes
take turns (ABC ABC ...) so a load change on a shared machine hits all of them; the median per image is reported,
wall and process CPU time, and the ratio to the SavedModel. Writes benchmarks/results/export_formats.json."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "export_formats.json"))
    args = ap.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import onnxruntime as ort
    from ai_edge_litert.interpreter import Interpreter

    from keras_gans.export.formats import probe_inputs, write_formats

    cases = [("acgan", "serving_default"), ("ukiyoe", "b2a")]
    report = {"cpu": cpu_name(), "threads": args.threads, "batch": args.batch, "repeats": args.repeats,
              "precision": "float32", "models": {}}
    tmp = Path(tempfile.mkdtemp())
    try:
        for name, sig_name in cases:
            version = REPO / "saved_models" / name / "1"
            if not all((version / f"{sig_name}{ext}").is_file() for ext in (".onnx", ".tflite")):
                copy = tmp / name / "1"
                shutil.copytree(version, copy)
                write_formats(copy, ["onnx", "litert"])
                version = copy
            sig = tf.saved_model.load(str(version)).signatures[sig_name]
            specs = sig.structured_input_signature[1]
            shapes = {k: ([None] + [64 if d is None else d for d in s.shape[1:]], s.dtype) for k, s in specs.items()}
            inputs = probe_inputs(shapes, args.batch)
            tf_inputs = {k: tf.constant(v) for k, v in inputs.items()}
            opts = ort.SessionOptions()
            opts.intra_op_num_threads, opts.inter_op_num_threads = args.threads, 1
            sess = ort.InferenceSession(str(version / f"{sig_name}.onnx"), opts, providers=["CPUExecutionProvider"])
            interp = Interpreter(model_path=str(version / f"{sig_name}.tflite"), num_threads=args.threads)
            runner = interp.get_signature_runner()
            run = {
                "savedmodel": lambda: next(iter(sig(**tf_inputs).values())).numpy(),
                "onnx": lambda: sess.run(None, inputs)[0],
                "litert": lambda: next(iter(runner(**inputs).values())),
            }
            outs = {k: f() for k, f in run.items()}  # warm-up (graph tracing, allocation)
            times = {k: {"wall": [], "cpu": []} for k in run}
            for _ in range(args.repeats):
                for k, f in run.items():
                    w, c = time.perf_counter(), time.process_time()
                    f()
                    times[k]["wall"].append((time.perf_counter() - w) / args.batch)
                    times[k]["cpu"].append((time.process_time() - c) / args.batch)
            sm_bytes = sum(f.stat().st_size for f in version.rglob("*") if f.is_file()
                           and f.suffix not in (".onnx", ".tflite"))
            sizes = {"savedmodel": sm_bytes, "onnx": (version / f"{sig_name}.onnx").stat().st_size,
                     "litert": (version / f"{sig_name}.tflite").stat().st_size}
            base = statistics.median(times["savedmodel"]["wall"])
            report["models"][name] = {
                "signature": sig_name,
                "input_shapes": {k: [args.batch] + list(v[0][1:]) for k, v in shapes.items()},
                **{k: {"size_mb": round(sizes[k] / 2**20, 2),
                       "ms_per_image_wall": round(1000 * statistics.median(times[k]["wall"]), 2),
                       "ms_per_image_cpu": round(1000 * statistics.median(times[k]["cpu"]), 2),
                       "wall_ratio_to_savedmodel": round(statistics.median(times[k]["wall"]) / base, 2),
                       "max_diff_levels": int(np.abs(outs[k].astype(int) - outs["savedmodel"].astype(int)).max())}
                   for k in run},
            }
            print(name, json.dumps(report["models"][name]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report["load_avg_1min"] = os.getloadavg()[0]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
