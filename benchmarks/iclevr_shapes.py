"""The i-CLEVR lab on the procedural shapes: training scenes drawn for the lab's own label sets, and the evaluator's
ceiling (its score on real procedural scenes of the test label sets).

    # 1. a training folder: one procedural scene for every label set of the lab's train.json (same file names)
    python benchmarks/iclevr_shapes.py make --labels ../shared/data/iclevr-labels/train.json \
        --out shapes64 --size 64
    # 2. the ceiling: REPEATS real scenes per set of test.json / new_test.json, scored by the evaluator exactly as
    #    `evaluate RUN --label-sets FILE --features CLF` scores a generator (top-k hits / labels asked for)
    python benchmarks/iclevr_shapes.py ceiling --features shapes_clf64.keras --size 64 --repeats 10 \
        --label-sets ../shared/data/iclevr-labels/test.json ../shared/data/iclevr-labels/new_test.json

The scenes are the `shapes` built-in's (keras_gans.data.procedural.draw_scene): 1-3 objects of the 24 i-CLEVR
names on a grey floor; scene i of a file is drawn from the seed (seed, 303, i) (the built-in uses 202), so the
ceiling's scenes are never the training images.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def scene(objects: list[str], size: int, rng: np.random.Generator) -> np.ndarray:
    from keras_gans.data import procedural

    idx = [procedural.OBJECT_NAMES.index(o) for o in objects]
    return procedural.to_array(procedural.draw_scene(idx, rng), size, 3)


def make(args) -> None:
    from keras_gans.data import procedural
    from keras_gans.core.io_utils import save_image

    mapping = json.loads(Path(args.labels).read_text())
    out = Path(args.out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    for i, (name, objs) in enumerate(mapping.items()):
        img = scene(objs, args.size, np.random.default_rng([args.seed, 202, i]))
        save_image(out / "images" / name, img, fsync=False)
    (out / "train.json").write_text(json.dumps(mapping, indent=0))
    (out / "objects.json").write_text(json.dumps({v: i for i, v in enumerate(procedural.OBJECT_NAMES)}))
    print(f"wrote {len(mapping)} scenes ({args.size} px) for the label sets of {args.labels} to {out}")


def ceiling(args) -> None:
    from keras_gans.metrics.features import ClassifierFeatures
    from keras_gans.metrics.multilabel import read_label_sets, targets_for_sets
    from keras_gans.metrics.scores import topk_hits

    clf = ClassifierFeatures(args.features)
    result = {}
    for f in args.label_sets:
        sets = read_label_sets(f)
        targets = targets_for_sets(clf.meta["classes"], sets)
        per_repeat, hits, asked = [], 0, 0
        for r in range(args.repeats):
            images = np.stack([scene(s, args.size, np.random.default_rng([args.seed, 303, r * 1000 + i]))
                               for i, s in enumerate(sets)])
            _, probs = clf.extract(images)
            h, a = topk_hits(probs, targets)
            per_repeat.append(float(h.sum() / a.sum()))
            hits, asked = hits + int(h.sum()), asked + int(a.sum())
        result[Path(f).name] = {"score": hits / asked, "hits": hits, "asked": asked, "repeats": args.repeats,
                                "std": float(np.std(per_repeat))}
        print(f"{Path(f).name}: ceiling {hits / asked:.3f} ({hits}/{asked} labels, {args.repeats} scenes per set, "
              f"std over repeats {np.std(per_repeat):.3f})")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--labels", required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--size", type=int, default=64)
    m.add_argument("--seed", type=int, default=0)
    c = sub.add_parser("ceiling")
    c.add_argument("--features", required=True)
    c.add_argument("--label-sets", nargs="+", required=True)
    c.add_argument("--size", type=int, default=64)
    c.add_argument("--repeats", type=int, default=10)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--out")
    args = p.parse_args()
    make(args) if args.cmd == "make" else ceiling(args)


if __name__ == "__main__":
    main()
