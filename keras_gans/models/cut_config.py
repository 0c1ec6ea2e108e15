"""CUT's config section (`cut:`), declared next to the family (models/cut.py): its own keys (the PatchNCE loss and
the mode), and the keys it shares with cyclegan (nets, two-domain data, crops, working size, photo side) with
cyclegan's defaults, value tables and rules (models/cyclegan_config.py TRANSLATOR_KEYS), so each is written once.
Light on purpose (no TensorFlow): config/loader.py composes it before anything heavy is imported."""

from __future__ import annotations

import re

from keras_gans.core.errors import UserError
from keras_gans.models import cyclegan_config as cyc

SECTION = "cut"
# What `mode` sets when lambda_nce / nce_idt / flip_equivariance are null (Park et al. 2020, section 4):
# CUT = PatchNCE weight 1 plus the identity PatchNCE on the target domain; FastCUT = weight 10, no identity term,
# flip-equivariance as its regulariser instead.
MODES = {
    "cut": {"lambda_nce": 1.0, "nce_idt": True, "flip_equivariance": False},
    "fastcut": {"lambda_nce": 10.0, "nce_idt": False, "flip_equivariance": True},
}
DEFAULTS = {  # data.path is a folder with trainA/ trainB/ (testA/ testB/), as for cyclegan
    "mode": "cut",  # cut | fastcut: sets the three keys below when they are null
    "lambda_nce": None,  # weight of the PatchNCE loss (null = the mode's: cut 1, fastcut 10)
    "nce_idt": None,  # identity PatchNCE on the target domain, NCE(G(y), y) (null = the mode's: cut yes, fastcut no)
    "flip_equivariance": None,  # G's input flipped half of the steps, its features flipped back (null = fastcut only)
    # G's layers whose features the PatchNCE loss compares (Keras layer names, `python cli.py nets` lists them):
    # the padded input, the two downsampling convs, residual blocks 1 and 5, as the reference's layers 0,4,8,12,16
    "nce_layers": ["in_pad", "down1", "down2", "res1_add", "res5_add"],
    "num_patches": 256,  # patch positions sampled per layer and image (the same for input and output features)
    "nce_temperature": 0.07,  # tau of the PatchNCE softmax
    "head_units": 256,  # width of each layer's 2-layer MLP head (Dense-ReLU-Dense, then L2-normalised)
    **{k: cyc.DEFAULTS[k] for k in cyc.TRANSLATOR_KEYS},  # nets, data, crops, working size, photo side
}
FAMILIES = ("cut",)  # the config values of `model` this section belongs to
SHARED_NOT_READ = ("loss",)  # its losses are its own (LSGAN + PatchNCE)
SHARED_FIXED = {"loss.type": "lsgan"}  # ... except to say what it is: the presets write loss.type: lsgan
_NULLABLE, _CHOICES, _RANGES = cyc.translator_tables(SECTION)
NULLABLE = {**_NULLABLE, "cut.lambda_nce": float, "cut.nce_idt": bool, "cut.flip_equivariance": bool}
CHOICES = {**_CHOICES, "cut.mode": tuple(MODES)}
RANGES = {**_RANGES, "cut.nce_temperature": (0, None, False, True)}
FIXED_LAYERS = ("image", "in_pad", "in_conv", "down1", "down2")  # the ResNet generator's encoder before its blocks


def settings(section: dict) -> dict:
    """lambda_nce, nce_idt and flip_equivariance of a cut section, the mode's where they are null."""
    mode = MODES[section["mode"]]
    return {k: mode[k] if section.get(k) is None else section[k] for k in mode}


def nce_layer_names(n_blocks: int) -> tuple[str, ...]:
    """The layer names cut.nce_layers may hold for a generator with n_blocks residual blocks."""
    return FIXED_LAYERS + tuple(f"res{i}_add" for i in range(1, int(n_blocks) + 1))


def validate(cfg: dict):
    """The rules of the cut section: cyclegan's for the shared keys, and the PatchNCE layers against the nets."""
    cyc.validate_translator(cfg, SECTION)
    c = cfg[SECTION]
    layers = c["nce_layers"]
    if not isinstance(layers, list) or not layers or not all(isinstance(x, str) for x in layers):
        raise UserError(f"cut.nce_layers must be a list of G's layer names, e.g. [in_pad, down1, down2, res1_add], "
                        f"got {layers!r}")
    allowed = nce_layer_names(c["n_blocks"])
    for name in layers:
        if name not in allowed:
            block = re.fullmatch(r"res(\d+)_add", name)
            why = (f"G has {c['n_blocks']} residual blocks (cut.n_blocks)" if block else
                   f"allowed: {', '.join(FIXED_LAYERS)}, res1_add .. res{c['n_blocks']}_add")
            raise UserError(f"cut.nce_layers names {name!r}, which is not one of G's encoder layers: {why}")
    if len(set(layers)) != len(layers):
        raise UserError(f"cut.nce_layers names a layer twice: {layers!r}")
