"""What a model family can do, declared by the family instead of found by probing (`hasattr(model, ...)`).

Each family lists its capabilities in the class attribute `capabilities`; a command, metric or callback that
needs one asks `require(model, CAP, "command")`, which names the command and the model kind in one clear error.
The methods behind each capability:

- LATENT: images from latent noise: `sample_inputs`, `sample_from_seeds`, `evaluation_samples`, `latent_noise`
  (the `LatentSampler` mixin in models/latent.py); export `serving_default(z)` and `generate(seed)`.
- CONDITIONAL: G takes conditions besides z: `condition_meta`, `interpolation_inputs`, `grid_images`.
- ENCODER: images -> latent and back: `encode`, `reconstruct`.
- TRANSLATOR: image -> image: `transfer`, `generator_for` (CycleGAN).

This module imports nothing heavy, so commands can check a capability before TensorFlow is loaded.
"""

from __future__ import annotations

from keras_gans.errors import UserError

LATENT = "latent"
CONDITIONAL = "conditional"
ENCODER = "encoder"
TRANSLATOR = "translator"

# what to call each capability in an error, and which families have it
WHAT = {
    LATENT: "a latent generator (model: gan, cgan, acgan or vae)",
    CONDITIONAL: "conditions (model: cgan or acgan)",
    ENCODER: "an encoder (model: vae)",
    TRANSLATOR: "an image translator (model: cyclegan; use `python cli.py transfer`)",
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
            hint = ": a cyclegan run translates images instead of sampling noise; use `python cli.py transfer`"
        raise UserError(f"`{command}` needs a model with {WHAT[capability]}; this run is a '{model.family}' "
                        f"model{hint}")
    return model
