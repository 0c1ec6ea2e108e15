"""Compute the requested metrics from real and generated images with one feature extractor, and flatten the
result for tables (the `evaluate` and `compare` commands and the FID-over-training callback share this)."""

from __future__ import annotations

import numpy as np

from keras_gans.errors import UserError
from keras_gans.metrics.fid import fid_from_features
from keras_gans.metrics.kid import kid
from keras_gans.metrics.scores import conditional_accuracy, inception_score, mode_collapse, multilabel_accuracy, prdc

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
                    progress=False, kid_subsets=100, kid_subset_size=1000, is_splits=10, k=5):
    """(results dict, notes list). `real` may be None when no metric needs it. `labels`: the requested labels of
    the generated images (a dict of arrays) or None."""
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
        res["fid"] = fid_from_features(f_real, f_fake)
    if "kid" in metrics:
        mean, std = kid(f_real, f_fake, subsets=kid_subsets, subset_size=kid_subset_size, seed=seed)
        res["kid"] = {"mean": mean, "std": std, "subsets": kid_subsets,
                      "subset_size": int(min(kid_subset_size, len(f_real), len(f_fake)))}
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
        (key, req), = labels.items()
        req = np.asarray(req)
        if req.ndim == 1:
            if int(req.max()) >= p_fake.shape[1]:
                raise UserError(f"requested label {int(req.max())} is beyond the classifier's {p_fake.shape[1]} classes")
            pred = p_fake.argmax(1)
            per_class = {int(c): float(np.mean(pred[req == c] == c)) for c in np.unique(req)}
            res["accuracy"] = {"value": conditional_accuracy(p_fake, req), "key": key, "kind": "single-label",
                               "per_class": per_class}
        else:
            res["accuracy"] = {"value": multilabel_accuracy(p_fake, req), "key": key, "kind": "multi-label top-k"}
    return res, notes


def flat_metrics(res: dict) -> dict:
    """One number per column, in a fixed order (for tables)."""
    out = {}
    if "fid" in res:
        out["fid"] = res["fid"]
    if "kid" in res:
        out["kid"] = res["kid"]["mean"]
        out["kid_std"] = res["kid"]["std"]
    if "is" in res:
        out["is"] = res["is"]["mean"]
        out["is_std"] = res["is"]["std"]
    if "pr" in res:
        for k in ("precision", "recall", "density", "coverage"):
            out[k] = res["pr"][k]
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
