"""The PatchGAN discriminator of pix2pix / CycleGAN (Isola et al. 2017): a grid of real/fake scores, each seeing
one patch of the input. With n_layers=3 every score sees a 70x70 patch (the "70x70 PatchGAN"): C64 (no norm),
C128, C256 (stride 2), C512 (stride 1), then a 1-channel 4x4 conv; every conv is 4x4 on a 1-pixel zero pad,
norm = instance, LeakyReLU(0.2). A 256 px image gives a 30x30 score map, as in the reference code.
"""

from __future__ import annotations

import keras
from keras import layers

from keras_gans.nets.blocks import initializer, norm_layer


def receptive_field(n_layers: int) -> int:
    """Input pixels seen by one output score: n_layers stride-2 4x4 convs, then two stride-1 4x4 convs."""
    rf = 1
    for stride in reversed([2] * n_layers + [1, 1]):
        rf = (rf - 1) * stride + 4
    return rf


def build_patchgan(
    image_shape, filters: int = 64, n_layers: int = 3, norm: str = "instance", init_std: float = 0.02,
    name: str = "discriminator",
) -> keras.Model:
    """image -> raw LSGAN scores [batch, h, w, 1] (float32)."""
    init = initializer(init_std)
    inp = keras.Input(tuple(image_shape), name="image")
    x = inp
    width = filters
    for i in range(n_layers + 1):
        stride = 2 if i < n_layers else 1
        width = filters * min(2**i, 8)
        x = layers.ZeroPadding2D(1, name=f"d{i + 1}_pad")(x)
        x = layers.Conv2D(width, 4, strides=stride, use_bias=i == 0 or norm == "none", kernel_initializer=init,
                          name=f"d{i + 1}_conv")(x)
        if i > 0:
            n = norm_layer(norm, name=f"d{i + 1}_norm")
            if n is not None:
                x = n(x)
        x = layers.LeakyReLU(negative_slope=0.2, name=f"d{i + 1}_lrelu")(x)
    x = layers.ZeroPadding2D(1, name="score_pad")(x)
    out = layers.Conv2D(1, 4, kernel_initializer=init, dtype="float32", name="score")(x)
    return keras.Model(inp, out, name=name)
