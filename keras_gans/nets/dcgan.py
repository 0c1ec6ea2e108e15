"""The DCGAN nets (Radford et al. 2016) in the course-baseline form our users start from, sized by image_size.

G: Dense -> s x s x C0 + BN + ReLU, then k x [Conv2DTranspose(k5, s2) + BN + ReLU], the last one to the image
channels with tanh. D mirrors it: k x [Conv2D(k5, s2) + norm + LeakyReLU(0.2)] (no norm on the first block),
then a one-unit head on the flattened features (the same as a 4x4 valid conv head). s is 4..7 so that
image_size = s * 2**k (28 -> 7*4, 32 -> 4*8, 64 -> 4*16, 96 -> 6*16, 128 -> 4*32). With dim=64 at 64 px the
widths are 512-256-128-64 (G) and 64-128-256-512 (D), the classic baseline.
"""

from __future__ import annotations

from keras import layers

from keras_gans.nets.blocks import activation, initializer, maybe_sn, norm_layer


def upsampling_plan(image_size: int) -> tuple[int, int]:
    """(start size s, number of stride-2 layers k) with image_size = s * 2**k and s in 4..7."""
    k, s = 0, image_size
    while s % 2 == 0 and s // 2 >= 4:
        s //= 2
        k += 1
    if k == 0:
        raise ValueError(f"image_size {image_size} cannot be reached by stride-2 upsampling from 4..7 px")
    return s, k


def generator_trunk(z, cfg_net: dict, image_shape: tuple[int, int, int], sync_bn: bool = False):
    """DCGAN generator layers applied to the (already conditioned) latent tensor z; returns the image tensor."""
    size, _, channels = image_shape
    s, k = upsampling_plan(size)
    dim, ks, init = cfg_net["dim"], cfg_net["kernel_size"], initializer(cfg_net["weights_init"])
    width = dim * 2 ** (k - 1)
    use_bn = cfg_net["g_norm"] == "batch"
    x = layers.Dense(s * s * width, use_bias=not use_bn, kernel_initializer=init, name="g_project")(z)
    x = layers.Reshape((s, s, width))(x)
    if use_bn:
        x = norm_layer("batch", sync_bn, name="g_project_bn")(x)
    x = layers.ReLU()(x)
    for i in range(k - 1):
        width //= 2
        x = layers.Conv2DTranspose(
            width, ks, strides=2, padding="same", use_bias=not use_bn, kernel_initializer=init, name=f"g_up{i + 1}"
        )(x)
        if use_bn:
            x = norm_layer("batch", sync_bn, name=f"g_up{i + 1}_bn")(x)
        x = layers.ReLU()(x)
    x = layers.Conv2DTranspose(channels, ks, strides=2, padding="same", kernel_initializer=init, name="g_out")(x)
    return layers.Activation("tanh", dtype="float32", name="image")(x)


def discriminator_trunk(x, cfg_net: dict, sync_bn: bool = False):
    """DCGAN discriminator conv blocks; returns the flattened features (the heads are added by the model)."""
    size = x.shape[1]
    _, k = upsampling_plan(size)
    dim, ks, init = cfg_net["dim"], cfg_net["kernel_size"], initializer(cfg_net["weights_init"])
    sn, pit = cfg_net["spectral_norm"], cfg_net["sn_power_iterations"]
    for i in range(k):
        conv = layers.Conv2D(dim * 2**i, ks, strides=2, padding="same", kernel_initializer=init, name=f"d_conv{i + 1}")
        x = maybe_sn(conv, sn, pit)(x)
        norm = norm_layer(cfg_net["d_norm"], sync_bn, name=f"d_conv{i + 1}_norm") if i > 0 and not sn else None
        if norm is not None:
            x = norm(x)
        x = activation(cfg_net["d_activation"])(x)
        if cfg_net["d_dropout"]:
            x = layers.Dropout(cfg_net["d_dropout"])(x)
    return layers.Flatten(name="d_features")(x)
