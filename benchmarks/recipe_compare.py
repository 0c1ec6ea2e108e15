"""Two recipes side by side at equal CPU time, same seed, same data, the same `train.max_cpu_minutes` budget, graded
by classifiers that are not the models' own D. faces: the preset as it was before issue 12 against today's;
ukiyoe: today's photo -> ukiyo-e preset with the paper's transposed convs against resize-convolutions (issue 22);
ukiyoe_family: CycleGAN, CUT and FastCUT on the same data, nets and budget (issue 22).

    python benchmarks/recipe_compare.py faces  --cpu-minutes 10 --runs runs/compare --figure docs/img/recipe_faces.png
    python benchmarks/recipe_compare.py ukiyoe --cpu-minutes 8 --runs runs/ukiyoe --figure docs/img/recipe_ukiyoe.png
    python benchmarks/recipe_compare.py ukiyoe_family --cpu-minutes 15 --runs runs/ukiyoe

The trainings run at once, each pinned to its own core where there are enough (so none steals from another; a
budget in CPU seconds is fair even on a shared machine, and where there are fewer cores they share them). Then the grader (benchmarks/anime_quality.py or
benchmarks/ukiyoe_quality.py) scores both runs, and the script writes benchmarks/results/recipe_TASK.{json,md} (the
table) and a figure (--figure, default benchmarks/results/recipe_TASK.png): the last sample grid of each run beside
the other with its numbers. A finished run (RUN/export.json) is graded again, not retrained; --figure-only redraws.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

TASKS = {
    "faces": {
        "data": SHARED / "anime-faces",
        "recipes": {
            "before: acgan": ["acgan"],
            "now: acgan_anime (EMA + translation,cutout)": ["acgan_anime"],
        },
        "epochs": 1000,  # neither recipe has a schedule over epochs: let the budget, not the epoch count, end both
        "grader": "anime_quality.py",
        "columns": [("hair_acc", "hair acc"), ("eyes_acc", "eyes acc"), ("fd_features", "FD (clf features)"),
                    ("diversity_ratio", "diversity ratio"), ("near_duplicate_share", "near-duplicates")],
    },
    "ukiyoe": {
        "data": SHARED / "ukiyoe2photo",
        # both: the cyclegan_ukiyoe preset (64 px crops of 128 px print interiors and photos, 40 epochs with the
        # decay from 20: both budgets end in the constant-LR part, so the winner's run goes on with --resume)
        "recipes": {
            "transposed convs (the paper)": ["cyclegan_ukiyoe", "--set", "cyclegan.upsample=transpose"],
            "resize-convolution": ["cyclegan_ukiyoe", "--set", "cyclegan.upsample=resize"],
        },
        "run_names": ["ukiyoe-transpose", "ukiyoe-resize"],
        "epochs": None,  # each recipe's own epochs: the learning-rate decay is part of the recipe
        "grader": "ukiyoe_quality.py",
        "columns": [("called_prints", "called prints"), ("edge_corr_median", "edge corr 256 px"),
                    ("border_bands", "border bands"), ("checkerboard_flagged", "checkerboard")],
    },
    "ukiyoe_family": {  # issue 22, item 3: the three translator families on the same data, nets and budget
        "data": SHARED / "ukiyoe2photo",
        "recipes": {
            "CycleGAN (cyclegan_ukiyoe)": ["cyclegan_ukiyoe"],
            "CUT (cut_ukiyoe)": ["cut_ukiyoe"],
            "FastCUT (fastcut_ukiyoe)": ["fastcut_ukiyoe"],
        },
        "run_names": ["family-cyclegan", "family-cut", "family-fastcut"],
        "epochs": None,
        "grader": "ukiyoe_quality.py",
        "columns": [("called_prints", "called prints"), ("edge_corr_median", "edge corr 256 px"),
                    ("border_bands", "border bands"), ("checkerboard_flagged", "checkerboard")],
    },
}


def train_all(task: dict, runs: Path, cpu_minutes: float, seed: int) -> dict:
    cores = sorted(os.sched_getaffinity(0))
    procs, dirs = [], {}
    for i, (label, preset) in enumerate(task["recipes"].items()):
        run = runs / f"{task['run_names'][i] if task.get('run_names') else Path(preset[0]).stem}-s{seed}"
        dirs[label] = run
        if (run / "export.json").is_file():
            continue  # trained already (to its budget or its last epoch): grade it again
        cmd = [sys.executable, str(ROOT / "cli.py"), "train", *preset, "--data", str(task["data"]), "--seed", str(seed),
               "--run-dir", str(run), "--resume", "--set", f"train.max_cpu_minutes={cpu_minutes}",
               "--set", "callbacks.tensorboard=false", *(["--epochs", str(task["epochs"])] if task["epochs"] else [])]
        if len(cores) >= len(task["recipes"]):
            cmd = ["taskset", "-c", str(cores[i]), *cmd]
        log = open(runs / f"{run.name}.log", "a")
        print("running:", " ".join(cmd), flush=True)
        procs.append((subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT), run))
    for p, run in procs:
        if p.wait() != 0:
            sys.exit(f"training failed: see {run}.log")
    return dirs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("task", choices=sorted(TASKS))
    ap.add_argument("--cpu-minutes", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs", default="runs/compare", help="where the runs go (not the repo)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results"))
    ap.add_argument("--figure", help="also write the figure here (e.g. docs/img/recipe_faces.png)")
    ap.add_argument("--figure-only", action="store_true", help="redraw the figures from the last results JSON")
    a = ap.parse_args()
    task = TASKS[a.task]
    if a.figure_only:
        rows = json.loads((Path(a.out) / f"recipe_{a.task}.json").read_text())["rows"]
        figure(rows, task, Path(a.figure or Path(a.out) / f"recipe_{a.task}.png"))
        return
    runs = Path(a.runs)
    runs.mkdir(parents=True, exist_ok=True)
    dirs = train_all(task, runs, a.cpu_minutes, a.seed)

    out = Path(a.out)
    graded = out / f"recipe_{a.task}_grades.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / task["grader"]), "--data", str(task["data"]), "--out", str(graded)]
    for run in dirs.values():
        cmd += ["--model", str(run)]
    subprocess.run(cmd, check=True, cwd=ROOT)
    grades = json.loads(graded.read_text())

    rows = []
    for (label, run), g in zip(dirs.items(), grades["models"]):
        t = json.loads((run / "time.json").read_text())
        rows.append({"recipe": label, "run": str(run), "cpu_min": t["cpu_s"] / 60, "wall_min": t["wall_s"] / 60,
                     "epochs": t["epochs"], **{k: g.get(k) for k, _ in task["columns"]},
                     **({"per_class": {k: v for k, v in g.items() if k.endswith("per_class")}} if a.task == "faces" else {})})
    report = {"task": a.task, "cpu_minutes_budget": a.cpu_minutes, "seed": a.seed, "rows": rows,
              "reference": {k: v for k, v in grades.items() if k != "models"}}
    (out / f"recipe_{a.task}.json").write_text(json.dumps(report, indent=1))

    head = "| recipe | CPU min | epochs | " + " | ".join(n for _, n in task["columns"]) + " |"
    lines = [head, "|" + "---|" * (3 + len(task["columns"]))]
    for r in rows:
        vals = ["n/a" if r[k] is None else str(r[k]) if isinstance(r[k], int) else f"{r[k]:.3f}" for k, _ in task["columns"]]
        lines.append(f"| {r['recipe']} | {r['cpu_min']:.1f} | {r['epochs']} | " + " | ".join(vals) + " |")
    (out / f"recipe_{a.task}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    figure(rows, task, Path(a.figure or out / f"recipe_{a.task}.png"))


def figure(rows, task, path: Path):
    """The last sample grid of each run, side by side, titled with its recipe and numbers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from keras_gans.core.io_utils import save_figure

    fig, axes = plt.subplots(1, len(rows), figsize=(6 * len(rows), 6.6))
    for ax, r in zip(axes, rows):
        grid = sorted((Path(r["run"]) / "samples").glob("epoch_*.png"))[-1]
        ax.imshow(Image.open(grid))
        ax.set_axis_off()
        nums = [f"{n} {'n/a' if r[k] is None else r[k] if isinstance(r[k], int) else format(r[k], '.2f')}"
                for k, n in task["columns"]]
        nums = "\n".join(", ".join(nums[i:i + 3]) for i in range(0, len(nums), 3))
        ax.set_title(f"{r['recipe']}\n{r['cpu_min']:.0f} CPU min, {r['epochs']} epochs\n{nums}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path, dpi=72, palette=True)


if __name__ == "__main__":
    main()
