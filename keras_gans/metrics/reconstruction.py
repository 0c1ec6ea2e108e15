"""Reconstruction error of models with an encoder (the VAE): MSE between images and decoder(mu(image)).

Units: squared error per pixel value in [-1, 1] (the training scale), meaned over pixels and images. Divide by 4
for [0, 1] pixels; multiply by (127.5)^2 for 8-bit levels.
"""

from __future__ import annotations

import numpy as np

from keras_gans.core.errors import UserError
from keras_gans.models.capabilities import ENCODER, require


def reconstruction_errors(model, images, batch_size: int = 256) -> np.ndarray:
    """Per-image MSE ([-1, 1] units) of model.reconstruct on images (uint8 [N, H, W, C], or floats in [-1, 1])."""
    require(model, ENCODER, "reconstruction MSE")
    images = np.asarray(images)
    if images.ndim != 4 or tuple(images.shape[1:]) != tuple(model.image_shape):
        raise UserError(
            f"images of shape {tuple(images.shape[1:])} do not match the model's {tuple(model.image_shape)}"
        )
    return model.reconstruction_errors(images, batch_size)


def reconstruction_mse(model, images, batch_size: int = 256) -> float:
    """Mean reconstruction MSE over images (see reconstruction_errors)."""
    errs = reconstruction_errors(model, images, batch_size)
    if not len(errs):
        raise UserError("no images to reconstruct")
    return float(np.mean(errs))
