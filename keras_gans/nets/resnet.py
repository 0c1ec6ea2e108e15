"""The CycleGAN ResNet generator (Johnson et al. 2016, as used by Zhu et al. 2017), image -> image.

c7s1-F, d2F, d4F, n x R4F, u2F, uF, c7s1-C: a 7x7 conv on a reflection-padded input, two stride-2 downsampling
convs, `n_blocks` residual blocks (reflection padding, 3x3 conv, instance norm, ReLU, twice, plus the skip), two
stride-2 transposed convs back up (upsample="transpose", the paper) or two resize-convolutions (upsample="resize":
nearest-neighbour x2, reflection pad, 3x3 conv; Odena et al. 2016: no uneven overlap of the kernels, so no
checkerboard by construction), and a 7x7 conv to the image channels with tanh. Instance normalisation is
`keras.layers.GroupNormalization(groups=-1)` (one group per channel; `groups=1` would be layer norm). 9 blocks
is the reference for 256 px, 6 for 128 px and below. Fully convolutional: it runs at any size divisible by 4.
"""

from __future__ import annotations

import keras
from keras import layers

from keras_gans.nets.blocks import initializer, norm_layer


@keras.saving.register_keras_serializable(package="keras_gans")
class ReflectionPadding2D(layers.Layer):
    """Pads H and W by mirroring the border (no edge artefacts from zero padding)."""

    def __init__(self, padding: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.padding = int(padding)

    def call(self, x):
        p = self.padding
        return keras.ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, shape):
        p = 2 * self.padding
        return (shape[0], None if shape[1] is None else shape[1] + p, None if shape[2] is None else shape[2] + p, shape[3])

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


def _norm_act(x, norm: str, name: str, act: bool = True):
    n = norm_layer(norm, name=f"{name}_norm")
    if n is not None:
        x = n(x)
    return layers.ReLU(name=f"{name}_relu")(x) if act else x


def residual_block(x, filters: int, norm: str, init, name: str):
    y = ReflectionPadding2D(1, name=f"{name}_pad1")(x)
    y = layers.Conv2D(filters, 3, use_bias=norm == "none", kernel_initializer=init, name=f"{name}_conv1")(y)
    y = _norm_act(y, norm, f"{name}_1")
    y = ReflectionPadding2D(1, name=f"{name}_pad2")(y)
    y = layers.Conv2D(filters, 3, use_bias=norm == "none", kernel_initializer=init, name=f"{name}_conv2")(y)
    y = _norm_act(y, norm, f"{name}_2", act=False)
    return layers.Add(name=f"{name}_add")([x, y])


def build_resnet_generator(
    image_shape, filters: int = 64, n_blocks: int = 9, norm: str = "instance", init_std: float = 0.02,
    name: str = "generator", fixed_size: bool = False, upsample: str = "transpose",
) -> keras.Model:
    """image [-1, 1] -> image [-1, 1] of the same shape. With fixed_size=False the input is [None, None, C]."""
    size, _, channels = image_shape
    init = initializer(init_std)
    shape = (size, size, channels) if fixed_size else (None, None, channels)
    inp = keras.Input(shape, name="image")
    x = ReflectionPadding2D(3, name="in_pad")(inp)
    x = layers.Conv2D(filters, 7, use_bias=norm == "none", kernel_initializer=init, name="in_conv")(x)
    x = _norm_act(x, norm, "in")
    for i, mult in enumerate((2, 4)):
        x = layers.Conv2D(filters * mult, 3, strides=2, padding="same", use_bias=norm == "none",
                          kernel_initializer=init, name=f"down{i + 1}")(x)
        x = _norm_act(x, norm, f"down{i + 1}")
    for i in range(int(n_blocks)):
        x = residual_block(x, filters * 4, norm, init, f"res{i + 1}")
    if upsample not in ("transpose", "resize"):
        raise ValueError(f"upsample must be transpose or resize, got {upsample!r}")
    for i, mult in enumerate((2, 1)):
        if upsample == "transpose":
            x = layers.Conv2DTranspose(filters * mult, 3, strides=2, padding="same", use_bias=norm == "none",
                                       kernel_initializer=init, name=f"up{i + 1}")(x)
        else:
            x = layers.UpSampling2D(2, interpolation="nearest", name=f"up{i + 1}_resize")(x)
            x = ReflectionPadding2D(1, name=f"up{i + 1}_pad")(x)
            x = layers.Conv2D(filters * mult, 3, use_bias=norm == "none", kernel_initializer=init, name=f"up{i + 1}")(x)
        x = _norm_act(x, norm, f"up{i + 1}")
    x = ReflectionPadding2D(3, name="out_pad")(x)
    x = layers.Conv2D(channels, 7, kernel_initializer=init, dtype="float32", name="out_conv")(x)
    out = layers.Activation("tanh", dtype="float32", name="out")(x)
    return keras.Model(inp, out, name=name)
