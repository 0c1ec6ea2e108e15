"""CycleGAN's config section (`cyclegan:`), declared next to the family: its keys' defaults, the value tables
config/loader.py reads for the per-key checks, and the rules that relate its keys to other sections (`validate`).
Light on purpose (no TensorFlow): config/loader.py composes it before anything heavy is imported."""

from __future__ import annotations

from keras_gans.core.errors import UserError

SECTION = "cyclegan"
DEFAULTS = {  # data.path is a folder with trainA/ trainB/ (testA/ testB/)
    "g_filters": 64,  # width of the ResNet generator's first conv (64 in the paper)
    "n_blocks": 9,  # residual blocks: 9 for 256 px, 6 for 128 px and below
    "d_filters": 64,  # width of the PatchGAN's first conv
    "d_layers": 3,  # stride-2 convs in the PatchGAN: 3 = the 70x70 PatchGAN
    "norm": "instance",  # instance | batch | none (G and D)
    "lambda_cycle": 10.0,  # weight of the cycle-consistency L1 loss
    "lambda_identity": 0.5,  # identity L1 weight, as a fraction of lambda_cycle (0 = off)
    "pool_size": 50,  # generated images kept per direction for D (0 = D sees only the newest)
    "decay_epochs": None,  # epochs of linear LR decay to 0 at the end (None = the second half of train.epochs)
    "n_test_samples": 4,  # test images per domain in each epoch's A->B->A / B->A->B grid
    "scenes_per_domain": 400,  # size of each domain of the built-in `scenes` set
    "photo_domain": "A",  # which folder side holds the photos (A | B): `transfer` runs photo -> style by default
    "export_directions": "both",  # both | to_style (only photo -> style: half the size, as shipped in saved_models/)
    "upsample": "transpose",  # G's two upsampling layers: transpose (stride-2 transposed convs, the paper) | resize
    #                           (nearest-neighbour x2, then a 3x3 conv: no checkerboard by construction)
    "load_size": None,  # train on crops: images are stored with this shorter side (centre square) and every step
    #                     cuts random data.image_size crops from them (the paper's load_size/crop_size); null = whole
    #                     images at data.image_size
    "style_margin": 0.0,  # fraction of each side of the style images (not the photos) left out before anything else:
    #                       the print's interior, without paper margin, frame line and border text
    "work_size": None,  # the shorter side G runs at in `transfer` and the export (null = load_size, else image_size):
    #                     the scale the photos were trained at, whatever the input's size
}
FAMILIES = ("cyclegan",)  # the config values of `model` this section belongs to
SHARED_NOT_READ = ("loss",)  # shared sections this family never reads: its losses are its own (LSGAN + cycle L1)
SHARED_FIXED = {"loss.type": "lsgan"}  # ... except to say what it is: the presets write loss.type: lsgan
NULLABLE = {"cyclegan.decay_epochs": int, "cyclegan.load_size": int, "cyclegan.work_size": int}
CHOICES = {
    "cyclegan.norm": ("instance", "batch", "none"),
    "cyclegan.photo_domain": ("A", "B"),
    "cyclegan.export_directions": ("both", "to_style"),
    "cyclegan.upsample": ("transpose", "resize"),
}
RANGES = {"cyclegan.pool_size": (0, None, True, True), "cyclegan.style_margin": (0, 0.5, True, False)}


# Keys an image-to-image family on two unpaired domains shares with cyclegan (nets, data, crops, working size,
# export side): a family that reuses them (cut) takes their defaults and tables from here and runs
# validate_translator on its own section, so each rule is written once.
TRANSLATOR_KEYS = ("g_filters", "n_blocks", "d_filters", "d_layers", "norm", "upsample", "decay_epochs",
                   "n_test_samples", "scenes_per_domain", "photo_domain", "load_size", "style_margin", "work_size")


def translator_tables(section: str) -> tuple[dict, dict, dict]:
    """(NULLABLE, CHOICES, RANGES) of TRANSLATOR_KEYS, named under `section`."""
    def rename(table):
        return {f"{section}.{k.split('.', 1)[1]}": v for k, v in table.items() if k.split(".", 1)[1] in TRANSLATOR_KEYS}

    return rename(NULLABLE), rename(CHOICES), rename(RANGES)


def validate(cfg: dict):
    """The rules between cyclegan keys and the train, watchdog and data sections (only for model: cyclegan)."""
    validate_translator(cfg, SECTION)


def validate_translator(cfg: dict, section: str):
    """The rules of TRANSLATOR_KEYS in cfg[section] (cyclegan, cut) against the train, watchdog and data sections
    (types and ranges of every key: the per-key checks, config/values.py)."""
    c, t = cfg[section], cfg["train"]
    if cfg["watchdog"]["on_nan"] == "restore":
        raise UserError(f"watchdog.on_nan=restore rescales a constant learning rate, but {section}'s follows its decay "
                        "schedule; use watchdog.on_nan=stop (then --resume with lower train.g_lr/d_lr) or warn")
    de = c["decay_epochs"]
    if de is not None and de > t["epochs"]:
        raise UserError(f"{section}.decay_epochs must be null or an integer in 0..train.epochs ({t['epochs']}), got {de!r}")
    size = cfg["data"]["image_size"]
    if c["load_size"] is not None and c["load_size"] < size:
        raise UserError(f"{section}.load_size must be null or an integer >= data.image_size ({size}): the crops of "
                        f"data.image_size are cut from images stored at load_size; got {c['load_size']!r}")
    ws = c["work_size"]
    if ws is not None and (ws < 16 or ws % 4):
        raise UserError(f"{section}.work_size must be null or a multiple of 4 of at least 16, got {ws!r}")
    if size % 4 or size < min_image_size(c["d_layers"]):
        raise UserError(
            f"data.image_size {size} does not fit {section}: it must be a multiple of 4 and at least "
            f"{min_image_size(c['d_layers'])} for {section}.d_layers={c['d_layers']} (lower d_layers for tiny images)"
        )


def min_image_size(d_layers: int) -> int:
    """Smallest image size (a multiple of 4) whose PatchGAN score map is at least 1x1: d_layers stride-2 4x4 convs
    and two stride-1 4x4 convs, each on a 1-pixel pad."""
    s = 8
    while True:
        x = s
        for _ in range(d_layers):
            x = (x - 2) // 2 + 1
        if x - 2 >= 1:
            return s
        s += 4


def work_size(cfg: dict, section: str = SECTION) -> int:
    """The shorter side G runs at when it translates an image of any size (transfer, export)."""
    c = cfg[section]
    return int(c.get("work_size") or c.get("load_size") or cfg["data"]["image_size"])
