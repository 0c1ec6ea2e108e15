"""Compute the requested metrics from real and generated images with one feature extractor, and flatten the
result for tables (the `evaluate` and `compare` commands and the FID-over-training callback share this)."""

from __future__ import annotations

import numpy as np

from keras_gans.core.errors import UserError
from keras_gans.metrics.fid import fid_from_features
from keras_gans.metrics.kid import kid
from keras_gans.metrics.kid import kid_subset_size as kid_subset_size_of
from keras_gans.metrics.scores import conditional_accuracy, inception_score, mode_collapse, multilabel_accuracy, prdc
from keras_gans.metrics.uncertainty import fid_bootstrap, fid_defined, fid_undefined_reason

ALL_METRICS = ("fid", "kid", "is", "pr", "collapse", "accuracy", "recon")  # recon: models with an encoder
NEEDS_REAL = {"fid", "kid", "pr"}
NEEDS_PROBS = {"is", "collapse", "accuracy"}


def parse_metrics(text: str | None) -> tuple[list[str], bool]:
    """(metric names, explicit?) from 'fid,kid,...'; None = all that apply (skipping the rest quietly)."""
    if not text:
        return list(ALL_METRICS), False
    names = [m.strip().lower() for m in text.split(",") if m.strip()]
    alias = {"mse": "recon", "reconstruction": "recon", "prdc": "pr", "precision": "pr", "recall": "pr", "inception_score": "is", "acc": "accuracy"}
    names = [alias.get(m, m) for m in names]
    bad = [m for m in names if m not in ALL_METRICS]
    if bad:
        raise UserError(f"unknown metric(s) {', '.join(bad)}; choose from {','.join(ALL_METRICS)}")
    return list(dict.fromkeys(names)), True


def compute_metrics(extractor, real, fake, labels=None, metrics=ALL_METRICS, explicit=False, seed=0,
                    progress=False, kid_subsets=100, kid_subset_size=1000, is_splits=10, k=5, floor_real=None,
                    fid_replicates=50):
    """(results dict, notes list). `real` may be None when no metric needs it. `labels`: the requested labels of
    the generated images (a dict of arrays) or None. `floor_real`: real images disjoint from `real` (the other
    half of the reference set): FID/KID/PR between the two real halves, at the same n, go to res['floor'].
    FID gets a bootstrap interval (res['fid_ci'], `fid_replicates` resamplings; 0 = none) and is None, with a
    note, where n <= the feature dimension (metrics/uncertainty.py)."""
    metrics = list(metrics)
    notes: list[str] = []

    def skip(name, why):
        if explicit:
            raise UserError(f"cannot compute '{name}': {why}")
        notes.append(f"{name} skipped: {why}")
        metrics.remove(name)

    if "accuracy" in metrics and not labels:
        skip("accuracy", "the model is unconditional (no requested labels)")
    for m in [m for m in metrics if m in NEEDS_PROBS]:
        if not extractor.has_probabilities:
            skip(m, f"the '{extractor.name}' extractor gives no class probabilities (use --features CLASSIFIER.keras"
                    " or the InceptionV3 weights with the top)")
    if "accuracy" in metrics and labels and len(labels) != 1:
        skip("accuracy", f"the model asks for several label groups ({', '.join(labels)}); a classifier scores one")
    if not metrics:
        raise UserError("none of the requested metrics can be computed: " + "; ".join(notes))

    res: dict = {}
    if progress:
        print(f"features of {len(fake)} generated images ({extractor.name})")
    f_fake, p_fake = extractor.extract(fake, progress=progress)
    f_real = p_real = None
    if real is not None and (NEEDS_REAL & set(metrics) or "collapse" in metrics):
        if progress:
            print(f"features of {len(real)} real images ({extractor.name})")
        f_real, p_real = extractor.extract(real, progress=progress)
    if "fid" in metrics:
        if fid_defined(len(f_real), len(f_fake), f_fake.shape[1]):
            res["fid"] = fid_from_features(f_real, f_fake)
            if fid_replicates:
                res["fid_ci"] = fid_bootstrap(f_real, f_fake, fid_replicates, seed=seed)
        else:
            res["fid"] = None
            res["fid_undefined"] = fid_undefined_reason(len(f_real), len(f_fake), f_fake.shape[1])
            notes.append(res["fid_undefined"])
    if "kid" in metrics:
        mean, std = kid(f_real, f_fake, subsets=kid_subsets, subset_size=kid_subset_size, seed=seed)
        res["kid"] = {"mean": mean, "std": std, "subsets": kid_subsets,
                      "subset_size": kid_subset_size_of(len(f_real), len(f_fake), kid_subset_size)}
    if floor_real is not None and f_real is not None and {"fid", "kid", "pr"} & set(metrics):
        if progress:
            print(f"features of {len(floor_real)} other real images ({extractor.name}): the real-vs-real floor")
        res["floor"] = _floor(metrics, f_real, extractor.features(floor_real, progress=progress), seed, kid_subsets,
                              kid_subset_size, k)
    if "is" in metrics:
        mean, std = inception_score(p_fake, is_splits)
        res["is"] = {"mean": mean, "std": std, "splits": is_splits}
        if p_real is not None:
            res["is"]["real_mean"] = inception_score(p_real, is_splits)[0]
    if "pr" in metrics:
        res["pr"] = prdc(f_real, f_fake, k=k)
    if "collapse" in metrics:
        res["collapse"] = mode_collapse(p_fake)
        if p_real is not None:
            res["collapse"]["real"] = mode_collapse(p_real)
    if "accuracy" in metrics:
        res["accuracy"] = _accuracy(p_fake, labels)
    return res, notes


def _floor(metrics, f_real, f_b, seed, kid_subsets, kid_subset_size, k) -> dict:
    """FID/KID/PR between two disjoint halves of the real images, at the same n: the best a generator can score."""
    m = min(len(f_b), len(f_real))
    f_a, f_b = f_real[:m], f_b[:m]  # the same n on both sides (f_real is a random subset already)
    floor: dict = {"n": int(m)}
    if "fid" in metrics:
        floor["fid"] = fid_from_features(f_a, f_b) if fid_defined(m, m, f_b.shape[1]) else None
    if "kid" in metrics:
        fm, fs = kid(f_a, f_b, subsets=kid_subsets, subset_size=kid_subset_size, seed=seed)
        floor["kid"] = {"mean": fm, "std": fs}
    if "pr" in metrics:
        floor["pr"] = prdc(f_a, f_b, k=k)
    return floor


def _accuracy(p_fake, labels: dict) -> dict:
    """Conditional accuracy: the classifier's agreement with the one requested label group (per class too)."""
    (key, req), = labels.items()
    req = np.asarray(req)
    if req.ndim != 1:
        return {"value": multilabel_accuracy(p_fake, req), "key": key, "kind": "multi-label top-k"}
    if int(req.max()) >= p_fake.shape[1]:
        raise UserError(f"requested label {int(req.max())} is beyond the classifier's {p_fake.shape[1]} classes")
    pred = p_fake.argmax(1)
    per_class = {int(c): float(np.mean(pred[req == c] == c)) for c in np.unique(req)}
    return {"value": conditional_accuracy(p_fake, req), "key": key, "kind": "single-label", "per_class": per_class}


def flat_metrics(res: dict) -> dict:
    """One number per column, in a fixed order (for tables)."""
    out = {}
    floor = res.get("floor") or {}
    if "fid" in res:
        out["fid"] = res["fid"]
        if res.get("fid_ci"):
            out["fid_low"], out["fid_high"] = res["fid_ci"]["low"], res["fid_ci"]["high"]
        if floor.get("fid") is not None:
            out["fid_floor"] = floor["fid"]
    if "kid" in res:
        out["kid"] = res["kid"]["mean"]
        out["kid_std"] = res["kid"]["std"]
        if floor.get("kid"):
            out["kid_floor"] = floor["kid"]["mean"]
    if "is" in res:
        out["is"] = res["is"]["mean"]
        out["is_std"] = res["is"]["std"]
    if "pr" in res:
        for k in ("precision", "recall", "density", "coverage"):
            out[k] = res["pr"][k]
        if floor.get("pr"):
            out["precision_floor"], out["recall_floor"] = floor["pr"]["precision"], floor["pr"]["recall"]
    if "collapse" in res:
        out["kl_uniform"] = res["collapse"]["kl_uniform"]
        out["modes_covered"] = f"{res['collapse']['modes_covered']}/{res['collapse']['num_classes']}"
    if "accuracy" in res:
        out["accuracy"] = res["accuracy"]["value"]
    if "recon_mse" in res:
        out["recon_mse"] = res["recon_mse"]
    if "label_sets" in res:  # the i-CLEVR evaluator: top-k hits / labels asked for, over the label sets
        out["label_score"] = res["label_sets"]["score"]
    return out


def format_table(rows: list[tuple[str, object]]) -> str:
    def fmt(v):
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    w = max(len(k) for k, _ in rows) if rows else 0
    return "\n".join(f"{k:<{w}}  {fmt(v)}" for k, v in rows)


# One line per printed number: what it measures and which way is better (docs/evaluation.md says the same).
EXPLAIN = {
    "fid": "Fréchet distance of Gaussians fitted to real and generated features; lower is better, read it "
           "against the floor (real vs real), not against 0",
    "kid": "Kernel Inception Distance (unbiased MMD², cubic kernel), ± std over subsets; lower is better, ~0 "
           "means same distribution; comparable across n",
    "is": "Inception Score, ± std over splits: confident and varied class predictions; higher is better "
          "(1 .. number of classes)",
    "precision": "share of generated images inside the real feature manifold (fidelity); higher is better",
    "recall": "share of real images inside the generated manifold (diversity); higher is better",
    "density": "real k-NN balls holding each generated image, / k (~1 for matched sets); higher = closer to "
               "dense real regions",
    "coverage": "share of real images with a generated image in their k-NN ball; higher is better",
    "kl_uniform": "KL divergence of the predicted-class histogram from uniform; lower is better (0 = even, "
                  "log K = one class)",
    "modes_covered": "classes that got at least 10% of their uniform share of generated images; higher is better",
    "accuracy": "share of generated images the classifier calls the requested label; higher is better",
    "recon_mse": "reconstruction MSE of decoder(mu(x)) on the --data images, [-1, 1] units; lower is better",
    "label_score": "top-k hits / labels asked for over the label sets; higher is better (ceiling: the "
                   "classifier's held-out score)",
}


def _g(v) -> str:
    return f"{v:.4g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)


def metric_lines(res: dict, n_generated: int, n_real: int) -> list[tuple[str, str, str]]:
    """(name, value with its n / uncertainty / floor, one-line explanation) for every number `evaluate` prints."""
    rows: list[tuple[str, str, str]] = []
    floor = res.get("floor") or {}
    at = f"n={n_generated} gen/{n_real} real"
    fl = f", floor {{}} (real vs real, n={floor.get('n')})" if floor else ""
    if "fid" in res:
        if res["fid"] is None:
            rows.append(("fid", f"not defined ({at})", res.get("fid_undefined", "")))
        else:
            ci = res.get("fid_ci")
            text = _g(res["fid"])
            if ci:
                text += f" [{_g(ci['low'])}, {_g(ci['high'])}] {round(100 * ci['level'])}% bootstrap"
            text += f", {at}"
            if floor:
                text += fl.format(_g(floor["fid"]) if floor.get("fid") is not None else "not defined")
            rows.append(("fid", text, EXPLAIN["fid"]))
    if "kid" in res:
        k = res["kid"]
        text = f"{_g(k['mean'])} ± {_g(k['std'])} ({k['subsets']} subsets of {k['subset_size']}), {at}"
        if floor.get("kid"):
            text += fl.format(f"{_g(floor['kid']['mean'])} ± {_g(floor['kid']['std'])}")
        rows.append(("kid", text, EXPLAIN["kid"]))
    if "is" in res:
        text = f"{_g(res['is']['mean'])} ± {_g(res['is']['std'])} ({res['is']['splits']} splits), n={n_generated}"
        if "real_mean" in res["is"]:
            text += f", real images {_g(res['is']['real_mean'])}"
        rows.append(("is", text, EXPLAIN["is"]))
    if "pr" in res:
        for key in ("precision", "recall", "density", "coverage"):
            text = f"{_g(res['pr'][key])} (k={res['pr']['k']}), {at}"
            if floor.get("pr"):
                text += fl.format(_g(floor["pr"][key]))
            rows.append((key, text, EXPLAIN[key]))
    if "collapse" in res:
        c = res["collapse"]
        real = c.get("real")
        rows.append(("kl_uniform", f"{_g(c['kl_uniform'])} of max {_g(c['kl_max'])}, n={n_generated}"
                     + (f", real images {_g(real['kl_uniform'])}" if real else ""), EXPLAIN["kl_uniform"]))
        rows.append(("modes_covered", f"{c['modes_covered']}/{c['num_classes']}"
                     + (f", real images {real['modes_covered']}/{real['num_classes']}" if real else ""),
                     EXPLAIN["modes_covered"]))
    if "accuracy" in res:
        rows.append(("accuracy", f"{_g(res['accuracy']['value'])} ({res['accuracy']['kind']}), n={n_generated}",
                     EXPLAIN["accuracy"]))
    if "recon_mse" in res:
        rows.append(("recon_mse", f"{_g(res['recon_mse'])}, n={n_real} real", EXPLAIN["recon_mse"]))
    if "label_sets" in res:
        ls = res["label_sets"]
        text = f"{_g(ls['score'])} ({ls['hits']}/{ls['asked']} labels"
        text += f", ± {_g(ls['std'])} over {ls['repeats']} repeats)" if "std" in ls else ")"
        rows.append(("label_score", text, EXPLAIN["label_score"]))
    return rows


def format_metric_lines(rows) -> str:
    if not rows:
        return ""
    w = max(len(r[0]) for r in rows)
    v = max(len(r[1]) for r in rows)
    return "\n".join(f"{n:<{w}}  {val:<{v}}  # {why}" for n, val, why in rows)
