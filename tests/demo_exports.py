"""Tiny SavedModel exports for the demo tests: a gray latent GAN, a conditional ACGAN (two softmax heads like hair
and eyes, a multi-label sigmoid head and a one-class binary attribute) and a CycleGAN, all 16 px with untrained
narrow nets (the page only needs the export's signatures; a few seconds in all)."""

from __future__ import annotations

from pathlib import Path

HAIR = ["aqua", "blonde", "red"]
EYES = ["blue", "green"]
OBJECTS = ["red cube", "blue sphere", "gray cylinder"]
HEADS = [{"name": "hair", "type": "softmax", "classes": HAIR},
         {"name": "eyes", "type": "softmax", "classes": EYES},
         {"name": "objects", "type": "sigmoid", "classes": OBJECTS},
         {"name": "smiling", "type": "sigmoid", "classes": ["smiling"]}]


def make_exports(out: Path) -> dict[str, Path]:
    """{'latent': .../latent, 'cond': .../cond, 'cyc': .../cyc} (export bases, version 1 inside each)."""
    from conftest import tiny_config

    from keras_gans.config import validate
    from keras_gans.export import export_model
    from keras_gans.train import build_model

    out = Path(out)
    cfg = tiny_config()
    export_model(build_model(cfg, {"image_shape": [16, 16, 1], "n_images": 8}), out, "latent", 1)
    cfg = tiny_config(model="acgan", conditional={"mode": "acgan", "heads": [dict(h) for h in HEADS]})
    export_model(build_model(cfg, {"image_shape": [16, 16, 3], "n_images": 8, "conditions": HEADS}), out, "cond", 1)
    cfg = tiny_config(callbacks={"n_samples": 4})
    cfg["name"], cfg["model"] = "cyc", "cyclegan"
    cfg["data"].update({"builtin": "scenes", "image_size": 16, "channels": 3})
    cfg["cyclegan"].update({"g_filters": 4, "n_blocks": 1, "d_filters": 4, "d_layers": 2, "n_test_samples": 2})
    export_model(build_model(validate(cfg), {"image_shape": [16, 16, 3], "n_images": 8}), out, "cyc", 1)
    return {k: out / k for k in ("latent", "cond", "cyc")}
