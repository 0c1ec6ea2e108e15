"""The template translator's config section (`template_translator:`), declared next to the family: its keys'
defaults, the value tables config/loader.py reads for the per-key checks, and `validate`. Light (no TensorFlow): config/loader.py
composes it before anything heavy is imported. Copy it with models/template_translator.py (docs/extending.md)."""

from __future__ import annotations

from keras_gans.core.errors import UserError
from keras_gans.core.registry import IMAGE_NETS
from keras_gans.models.cyclegan_config import min_image_size

SECTION = "template_translator"
DEFAULTS = {  # data.path is a folder with trainA/ (photos) trainB/ (the style), or data.builtin: scenes
    "g_net": "resnet",  # G, by name from keras_gans.core.registry.IMAGE_NETS
    "g_filters": 16,  # width of G's first conv
    "n_blocks": 2,  # residual blocks of the resnet G
    "d_net": "patchgan",  # D, by name from keras_gans.core.registry.IMAGE_NETS
    "d_filters": 16,  # width of D's first conv
    "d_layers": 2,  # stride-2 convs of the PatchGAN (3 = the 70x70 PatchGAN)
    "norm": "instance",  # instance | batch | none (G and D)
    "lambda_content": 10.0,  # weight of the L1 between G(a) and a: keeps the photo's layout (0 = off)
    "n_test_samples": 4,  # test photos in each epoch's photo -> style grid
    "scenes_per_domain": 400,  # size of each domain of the built-in `scenes` set
}
FAMILIES = ("template_translator",)  # the config values of `model` this section belongs to
SHARED_NOT_READ = ("loss",)  # its losses are its own (LSGAN + L1)
SHARED_FIXED = {"loss.type": "lsgan"}
NULLABLE: dict = {}
CHOICES = {"template_translator.norm": ("instance", "batch", "none"), "template_translator.g_net": tuple(IMAGE_NETS),
           "template_translator.d_net": tuple(IMAGE_NETS)}
RANGES: dict = {}


def validate(cfg: dict):
    """The rules between this section and the others (only for model: template_translator); each key's type, range
    and allowed names (the image nets of registry.IMAGE_NETS) are checked per key before this (config/values.py)."""
    c = cfg[SECTION]
    size = cfg["data"]["image_size"]
    if size % 4 or size < min_image_size(c["d_layers"]):
        raise UserError(f"data.image_size {size} must be a multiple of 4 and at least {min_image_size(c['d_layers'])} "
                        f"for {SECTION}.d_layers={c['d_layers']}")
