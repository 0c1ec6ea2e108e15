"""What a model family can do, declared by the family instead of found by probing (`hasattr(model, ...)`).

Each family lists its capabilities in the class attribute `capabilities`; a command, metric or callback that
needs one asks `require(model, CAP, "command")` (or `has`), which names the command and the model kind in one clear
error. Commands and the demo ask for capabilities only, never for a family's name
(tests/test_family_names.py). The contract behind each capability -- what a new family must offer to be served:

- LATENT: images from latent noise: `sample_inputs`, `sample_from_seeds`, `evaluation_samples`, `latent_noise`
  (the `LatentSampler` mixin in models/latent.py); export `serving_default(z)` and `generate(seed)`.
- CONDITIONAL: G takes conditions besides z: `condition_meta`, `interpolation_inputs`, `grid_images`,
  `heads_note` (what D's outputs mean, for `nets`); export also `conditions` (JSON).
- ENCODER: images -> latent and back: `encode`, `reconstruct`.
- TRANSLATOR: image -> image (served by `transfer` and `demo`). Mix in `models.translator.Translator` and supply:
  `translator_directions` (the directions it runs, of "a2b" / "b2a"), `generator_for(direction)` (the Keras net:
  images [-1, 1] -> [-1, 1], any size), `self.work_size` (the shorter side G runs at) and the classmethod
  `photo_domain(cfg)` ("A" | "B": the photo side). The mixin gives `transfer(images_u8, direction)`,
  `direction_meta()` and `add_translator_exports(archive)`, which the family's `export_endpoints` calls: export
  signatures `<direction>` (uint8 images, any size -> same size), `<direction>_bytes` (image bytes -> PNG bytes),
  photo -> style also as `serving_default`, and `directions` (JSON: photo_domain, photo2style, style2photo, name).
  Trained on `data_kind = "domains"` with `data_options(cfg)` -> keras_gans.data.source.DomainOptions.
  Examples: models/template_translator.py (the smallest), models/cyclegan.py.

This module imports nothing heavy, so commands can check a capability before TensorFlow is loaded.
"""

from __future__ import annotations

from keras_gans.core.errors import UserError

LATENT = "latent"
CONDITIONAL = "conditional"
ENCODER = "encoder"
TRANSLATOR = "translator"

# what to call each capability in an error, and which families have it
WHAT = {
    LATENT: "a latent generator (model: gan, cgan, acgan or vae)",
    CONDITIONAL: "conditions (model: cgan or acgan)",
    ENCODER: "an encoder (model: vae)",
    TRANSLATOR: "an image translator (model: cyclegan, cut or template_translator; use `python cli.py transfer`)",
}


def has(model, capability: str) -> bool:
    """Whether the model (instance or class) declares the capability."""
    if capability not in WHAT:
        raise ValueError(f"unknown capability {capability!r}; known: {', '.join(WHAT)}")
    cls = model if isinstance(model, type) else type(model)
    return capability in getattr(cls, "capabilities", ())  # an object that declares none has none


def require(model, capability: str, command: str):
    """The model itself when it declares the capability, else a UserError naming the command and the model kind."""
    if not has(model, capability):
        hint = ""
        if capability == LATENT and has(model, TRANSLATOR):
            hint = f": a {model.family} run translates images instead of sampling noise; use `python cli.py transfer`"
        raise UserError(f"`{command}` needs a model with {WHAT[capability]}; this run is a '{model.family}' "
                        f"model{hint}")
    return model
