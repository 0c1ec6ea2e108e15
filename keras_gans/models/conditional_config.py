"""The conditional families' config section (`conditional:`, model: cgan | acgan), declared next to them:
defaults, the value tables config/loader.py reads for the per-key checks, and `validate`, which parses the heads with
the one parser (conditioning.head_specs) when the config is read, before any image is decoded. Light: no TensorFlow."""

from __future__ import annotations

from keras_gans.core.registry import MODES

SECTION = "conditional"
DEFAULTS = {  # see keras_gans/models/conditional.py
    # one of registry.MODES: concat (labels into G and D's input) | projection (Miyato & Koyama D) | acgan (aux heads)
    "mode": "acgan",
    # conditions / D heads, each {name, type: softmax|sigmoid, classes: null|K|[names], weight: 1.0, source: null}
    "heads": [],
    "adv_weight": 1.0,  # weight of the adversarial (real/fake) loss beside the head weights
    "embed_dim": 0,  # 0 = one-hot / multi-hot labels; >0 = a learned embedding of this size (G and concat-D)
    "d_fake_class_loss": True,  # ACGAN: D also learns the class of fake images (false: a known remedy for early collapse)
    "grid_head": None,  # condition varied along the rows of sample grids (default: the first head)
    "fake_labels": "real",  # labels G's fakes are drawn with: real (the real batch's) | random (uniform classes;
    #                         sigmoid heads: a random set of as many labels as the real image has)
    "class_loss": "mean",  # sigmoid heads' BCE over their K labels: mean (as the frameworks' BCE) | sum (before issue 13)
}
FAMILIES = ("cgan", "acgan")  # the config values of `model` this section belongs to
NULLABLE = {"conditional.grid_head": str}
CHOICES = {
    "conditional.mode": MODES,
    "conditional.fake_labels": ("real", "random"),
    "conditional.class_loss": ("mean", "sum"),
}
RANGES: dict = {}


def validate(cfg: dict):
    """The heads, parsed and checked now (names, types, classes, weights, keys: a typo fails in a second); their
    classes are matched against the data's labels when it is loaded."""
    from keras_gans.parts.conditioning import head_specs

    head_specs(cfg)
