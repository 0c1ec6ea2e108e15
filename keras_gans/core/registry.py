"""The extension points' names, in one light module (no TensorFlow, no Keras): the one list per extension point.

The config's allowed values (config_values.CHOICES) are computed from these, and the heavy modules look their
objects up by these names, so a new loss, net or optimizer is registered here and nowhere else in the config
(docs/extending.md). Model families register in keras_gans/models/__init__.py (FAMILIES), their config sections
beside them (models/NAME_config.py).
"""

from __future__ import annotations

# loss.type -> keras_gans/parts/losses.py defines NAME_d (discriminator) and NAME_g (generator) for each
LOSSES = ("bce", "lsgan", "wgan", "hinge")

# net.arch / net.g_arch / net.d_arch -> the module that builds the trunks (keras_gans/nets/__init__.py)
ARCHS = {"dcgan": "keras_gans.nets.dcgan", "mlp": "keras_gans.nets.mlp"}

# image -> image nets a translator family builds by name (keras_gans/nets/__init__.py build_image_net)
IMAGE_NETS = {
    "resnet": "keras_gans.nets.resnet:build_resnet_generator",  # image [-1, 1] -> image [-1, 1], any size
    "patchgan": "keras_gans.nets.patchgan:build_patchgan",  # image -> a map of raw real/fake scores, one per patch
}

# train.optimizer -> built by keras_gans/parts/optimizers.py make_optimizer
OPTIMIZERS = ("adam", "rmsprop")

# conditional.mode -> how the conditional family feeds the conditions to D (keras_gans/models/conditional.py)
MODES = ("concat", "projection", "acgan")
