"""Tiny SavedModel exports for the demo tests: a gray latent GAN, a conditional ACGAN (two softmax heads like hair
and eyes, a multi-label sigmoid head and a one-class binary attribute) and a CycleGAN, all 16 px with untrained
narrow nets whose output layer is scaled up so the images have visible contrast (an untrained DCGAN draws a
uniform 127/128 gray; the page only needs the export's signatures). A few seconds in all."""

from __future__ import annotations

from pathlib import Path

HAIR = ["aqua", "blonde", "red"]
EYES = ["blue", "green"]
OBJECTS = ["red cube", "blue sphere", "gray cylinder"]
HEADS = [{"name": "hair", "type": "softmax", "classes": HAIR},
         {"name": "eyes", "type": "softmax", "classes": EYES},
         {"name": "objects", "type": "sigmoid", "classes": OBJECTS},
         {"name": "smiling", "type": "sigmoid", "classes": ["smiling"]}]


def _contrast(model, target_std: float = 0.5):
    """Scale the sampling generator's last kernel so its [-1, 1] output has about target_std."""
    import numpy as np

    g = model.sampling_generator
    last = [lay for lay in g.layers if getattr(lay, "kernel", None) is not None][-1]
    z = np.random.default_rng(0).normal(size=(8, model.latent_dim)).astype("float32")
    inputs = z if not getattr(model, "heads", None) else {
        "z": z, **{h.name: (np.zeros(8, "int32") if h.type == "softmax" else np.ones((8, h.k), "float32"))
                   for h in model.heads}}
    std = float(np.std(np.asarray(g(inputs, training=False))))
    last.kernel.assign(last.kernel * min(1000.0, target_std / max(std, 1e-6)))
    return model


def make_exports(out: Path) -> dict[str, Path]:
    """{'latent': .../latent, 'cond': .../cond, 'cyc': .../cyc} (export bases, version 1 inside each)."""
    from conftest import tiny_config

    from keras_gans.config.loader import validate
    from keras_gans.export.savedmodel import export_model
    from keras_gans.training.build import build_model

    out = Path(out)
    cfg = tiny_config()
    export_model(_contrast(build_model(cfg, {"image_shape": [16, 16, 1], "n_images": 8})), out, "latent", 1)
    cfg = tiny_config(model="acgan", conditional={"mode": "acgan", "heads": [dict(h) for h in HEADS]})
    model = _contrast(build_model(cfg, {"image_shape": [16, 16, 3], "n_images": 8, "conditions": HEADS}))
    export_model(model, out, "cond", 1)
    cfg = tiny_config(callbacks={"n_samples": 4})
    cfg["name"], cfg["model"] = "cyc", "cyclegan"
    cfg["data"].update({"builtin": "scenes", "image_size": 16, "channels": 3})
    cfg["cyclegan"].update({"g_filters": 4, "n_blocks": 1, "d_filters": 4, "d_layers": 2, "n_test_samples": 2})
    export_model(build_model(validate(cfg), {"image_shape": [16, 16, 3], "n_images": 8}), out, "cyc", 1)
    return {k: out / k for k in ("latent", "cond", "cyc")}
