"""Configuration: YAML presets over one schema of defaults, validated, overridable, recorded per run.

A preset (``configs/NAME.yaml``) may name a ``base:`` preset it extends. Every key must exist in ``DEFAULTS``;
an unknown key is an error that names the nearest valid key. ``--set section.key=value`` overrides any key
(the value is parsed as YAML, so ``--set train.epochs=5`` gives an int). The resolved config is written to
``RUN/config.yaml`` so later commands need only the run directory.
"""

from __future__ import annotations

import copy
import difflib
import math
import os
from pathlib import Path
from typing import Any

import yaml

from keras_gans.errors import UserError
from keras_gans.io_utils import atomic_write_text

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"

# The one schema. A key absent here does not exist. Sections group keys by the layer that reads them.
DEFAULTS: dict[str, Any] = {
    "name": "dcgan",  # run / export name
    "model": "gan",  # model family: gan | cgan | acgan | vae | cyclegan
    "data": {
        "path": None,  # image folder; None = the built-in default for this model
        "builtin": "digits",  # built-in data set used when path is None
        "image_size": 32,  # images are resized (shorter side) and centre-cropped to this square size
        "channels": None,  # 1 or 3; None = infer from the data (mixed folders are converted to the majority)
        "on_bad_file": "skip",  # skip (warn, naming the file) | fail
        "labels": None,  # labels file for conditional models (tags CSV, i-CLEVR JSON, attribute table)
        "max_images": None,  # use at most this many images (handy for quick runs)
        "flip": False,  # random horizontal flip augmentation
        "cache_dir": None,  # where decoded images are cached as .npy (None = in memory only)
        "resize": "crop",  # non-square frames: crop (shorter side, centre cut) | squash (both sides) | pad (border colour)
        "ignore_tags": [],  # tags CSV: tags dropped from every row, e.g. [polychromatic, long, short] (not an error)
    },
    "net": {
        "arch": "dcgan",  # dcgan | mlp  (for G and D alike; g_arch/d_arch override each)
        "g_arch": None,
        "d_arch": None,
        "latent_dim": 100,
        "dim": 64,  # hidden width: D's first conv has dim filters, G's first block 8*dim (fewer for small images)
        "kernel_size": 5,
        "g_norm": "batch",  # batch | none
        "d_norm": "batch",  # batch | layer | none   (inner blocks; the first D block never has a norm)
        "spectral_norm": False,  # SpectralNormalization on every D layer (SNGAN)
        "sn_power_iterations": 1,
        "d_activation": "leaky_relu",  # leaky_relu | relu
        "d_dropout": 0.0,  # dropout after each D block
        "weights_init": 0.02,  # stddev of the N(0, std) initialiser; None = Keras defaults
        "mlp_units": [256, 512],  # hidden layers of the MLP nets (G uses them in order, D reversed)
        "z_std": 1.0,  # sigma of the latent noise z ~ N(0, sigma^2): training, sample grids, `sample --seed`, export
        "bn_momentum": 0.9,  # moving-average momentum of every G/D batch norm (Keras convention; 0.75 in acgan96)
        "sn_keeps_norm": False,  # with spectral_norm: true keeps D's d_norm layers beside SN (sngan_bn); false drops them
        # Nets as drawn, layer by layer (dcgan arch; docs/nets.md). A scalar applies to every layer, a list gives one
        # value per layer; None keeps the DCGAN plan from image_size and dim, so older presets build the same nets.
        "g_filters": None,  # widths of G's hidden conv blocks, e.g. [512, 256, 128, 64]; None = dim * 2^(n-1-i)
        "g_strides": None,  # upsampling of each G conv (hidden blocks + the output layer); None = 2
        "g_kernel": None,  # kernel size per G conv; None = kernel_size
        "g_padding": None,  # same | valid per G conv; None = same
        "g_upsample": "transpose",  # transpose (Conv2DTranspose) | nearest (UpSampling2D, then Conv2D stride 1)
        "g_order": "norm-act",  # norm-act (conv, norm, ReLU) | act-norm (conv, ReLU, norm: the Keras anime ACGAN)
        "g_project": None,  # channels of the s x s map G's Dense makes of z; 0 = no Dense (z as a 1x1 map); None = 2x first block
        "g_start": None,  # s, the side of that map; None = image_size / product of g_strides
        "g_fc": None,  # Dense widths before the projection, e.g. [1024]
        "d_filters": None,  # widths of D's conv layers, e.g. [32, 64, 128, 256, 256]; None = dim * 2^i
        "d_strides": None,  # per D conv; None = 2
        "d_kernel": None,  # per D conv; None = kernel_size
        "d_padding": None,  # same | valid per D conv; None = same
        "d_pool": None,  # none | max | avg (2x2 pooling after a D conv, for conv/pool encoders); None = none
        "d_fc": None,  # Dense widths after D's flattened conv features, e.g. [1024] (the VAE encoder's FC layer)
        "d_order": "norm-act",  # norm-act (conv, norm, act, dropout) | act-norm (conv, act, dropout, norm)
        "d_score_head": "dense",  # dense (on the flat features) | conv (one conv over the whole last map, e.g. 4x4)
    },
    "loss": {
        "type": "bce",  # bce (non-saturating) | lsgan | wgan | hinge
        "gp_weight": 0.0,  # WGAN-GP gradient penalty lambda (0 = off)
        "clip_value": 0.0,  # WGAN weight clipping c (0 = off)
        "label_smoothing": 0.0,  # one-sided: real targets become 1 - s (bce/lsgan)
        "instance_noise": 0.0,  # stddev of Gaussian noise added to D's inputs (real and fake)
    },
    "train": {
        "epochs": 5,
        "batch_size": 64,
        "d_steps": 1,  # D updates per train step (n_critic); each uses a fresh real batch
        "g_steps": 1,  # G updates per train step
        "reuse_fake": False,  # with d_steps = g_steps = 1: G's loss on the fakes D just trained on (one G forward)
        # changes at a train step: [{step: 0, d_steps: 5}, {step: 500, d_steps: 1, g_steps: 2, adv_weight: 0.5}]
        # (keys: d_steps, g_steps, g_lr, d_lr, gp_weight, adv_weight, head_weights: {name: w}); docs/knobs.md
        "schedule": None,
        "optimizer": "adam",  # adam | rmsprop
        "g_lr": 2e-4,
        "d_lr": 2e-4,
        "beta_1": 0.5,
        "beta_2": 0.999,
        "ema": 0.0,  # decay of G's exponential moving average (0 = off); used for samples and export
        "seed": 0,
        "deterministic": False,  # tf.config.experimental.enable_op_determinism
        "mixed_precision": "auto",  # auto | float32 | mixed_bfloat16 | mixed_float16
        "jit_compile": False,
        "steps_per_execution": 1,
        "threads": "auto",  # TF intra-op threads: auto (CPUs this process may use) | tf (TF's defaults) | N | [intra, inter]
        "strategy": "default",  # default | mirrored | multiworker
        "steps_per_epoch": None,  # None = one pass over the data
        "max_minutes": None,  # stop (checkpoint, samples, export) after this many wall-clock minutes of training
        "max_cpu_minutes": None,  # ... or after this much CPU time (all threads): equal-budget comparisons
        "verbose": "auto",
    },
    "callbacks": {
        "sample_every": 1,  # epochs between sample grids
        "n_samples": 64,  # images in each grid (a square number is best)
        "checkpoint_every": 1,  # epochs between checkpoints
        "keep_checkpoints": 3,
        "log_every": 10,  # steps between rows of steps.csv (per-step curves)
        "tensorboard": True,
        "export_every": 0,  # epochs between SavedModel exports (0 = only at the end)
        "export_dir": None,  # null = the export stays in RUN/export/N; a folder = also publish to FOLDER/NAME/N
        "export_at_end": True,
    },
    "cyclegan": {  # CycleGAN (model: cyclegan); data.path is a folder with trainA/ trainB/ (testA/ testB/)
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
    },
    "vae": {  # model: vae (keras_gans/models/vae.py); see configs/vae.yaml for the choice of values
        "kl_weight": 1.0e-3,  # lambda: loss = recon + lambda * KL (KL summed over latent dims, per image)
        "kl_schedule": None,  # None | warmup | {epoch: weight, ...} (1-based; each weight holds from that epoch on)
        "warmup_epochs": 5,  # with kl_schedule=warmup: lambda = kl_weight * min(1, epoch / warmup_epochs)
        "recon": "mean",  # squared error per image over its pixels in [-1, 1]: mean | sum
        "holdout": 0.05,  # images held out of training (fraction < 1, or a count) for recon grids and MSE
        "n_recon": 16,  # originals in RUN/samples/recon_epoch_XXXX.png (each over its reconstruction)
        "tanh_mean": False,  # bound the latent mean with tanh (mu in (-1, 1)), as in the face-study VAE
    },
    "conditional": {  # conditional families (model: cgan | acgan); see keras_gans/models/conditional.py
        "mode": "acgan",  # concat (labels into G and D's input) | projection (Miyato & Koyama D) | acgan (aux heads)
        # conditions / D heads, each {name, type: softmax|sigmoid, classes: null|K|[names], weight: 1.0, source: null}
        "heads": [],
        "adv_weight": 1.0,  # weight of the adversarial (real/fake) loss beside the head weights
        "embed_dim": 0,  # 0 = one-hot / multi-hot labels; >0 = a learned embedding of this size (G and concat-D)
        "d_fake_class_loss": True,  # ACGAN: D also learns the class of fake images (false: a known remedy for early collapse)
        "grid_head": None,  # condition varied along the rows of sample grids (default: the first head)
        "fake_labels": "real",  # labels G's fakes are drawn with: real (the real batch's) | random (uniform classes;
        #                         sigmoid heads: a random set of as many labels as the real image has)
        "class_loss": "mean",  # sigmoid heads' BCE over their K labels: mean (as the frameworks' BCE) | sum (before issue 13)
    },
    "augment": {  # differentiable augmentation of every image D sees (keras_gans/augment.py, docs/augment.md)
        "policy": "",  # "" = off | any of color,translation,cutout, comma-separated (DiffAugment, Zhao et al. 2020)
        "p": 1.0,  # probability each op is applied to each image (fixed mode); adaptive mode starts at 0
        "adaptive": False,  # ADA-style: p follows r_t = E[sign(D(real))] towards `target` (Karras et al. 2020)
        "target": 0.6,  # r_t target of the adaptive mode
        "ada_images": 100000,  # images shown to D for the adaptive p to move by 1
        "translation_ratio": 0.125,  # largest shift, as a fraction of the image size
        "cutout_ratio": 0.5,  # side of the cut-out square, as a fraction of the image size
    },
    "watchdog": {
        "on_nan": "stop",  # stop | warn | restore (restore the last checkpoint, lower the LRs, go on)
        "nan_lr_factor": 0.5,  # with on_nan=restore: multiply both learning rates by this after each restore
        "nan_retries": 3,  # with on_nan=restore: give up with a clear message after this many restores
        "d_loss_floor": 1e-3,  # |d_loss| below this for `patience` steps = D has won outright
        "patience": 50,
        "on_collapse": "warn",  # warn | stop
        "max_grad_norm": 1e4,  # a gradient norm above this (running mean of the epoch) is reported
        "on_grad_norm": "warn",  # warn | stop
    },
    "eval": {
        "every": 0,  # epochs between FID measurements during training, into history.csv/TensorBoard (0 = off)
        "n": 1000,  # generated (and at most this many real) images per measurement
        "features": None,  # inception (null) | path to InceptionV3 .h5 weights | classifier .keras (train-classifier)
        "data": None,  # real image folder for the reference statistics (null = the run's training images)
        "fid": True,  # with every > 0: log fid (false: only the label-set score below)
        "label_sets": None,  # JSON list of label lists (i-CLEVR test.json) or tags file: log label_score (top-k)
        "classifier": None,  # multi-label classifier .keras for label_sets (null = eval.features)
    },
}


# ----- value checks, derived from DEFAULTS ----------------------------------------------------------------------
# Every key is checked before anything is written or TensorFlow is imported. The check is read off the key's
# default (bool, int, float, str or list; numbers >= 0, and ints >= 1 when their default is >= 1), so a new key
# is checked the day it is added. The tables below only say what a default cannot: the type of keys whose
# default is None, the allowed words of a choice, and narrower ranges. tests/test_reliability_values.py checks
# every key.
NULLABLE = {  # key -> type of its non-null values (these defaults are None)
    "data.path": str, "data.labels": str, "data.max_images": int, "data.cache_dir": str, "data.channels": int,
    "net.g_arch": str, "net.d_arch": str, "net.weights_init": float, "train.steps_per_epoch": int,
    "train.max_minutes": float, "train.max_cpu_minutes": float,
    "callbacks.export_dir": str, "cyclegan.decay_epochs": int, "vae.kl_schedule": "schedule",
    "conditional.grid_head": str, "eval.features": str, "eval.data": str, "watchdog.max_grad_norm": float,
    "eval.label_sets": str, "eval.classifier": str, "train.schedule": "any",
    # nets as drawn (docs/nets.md): a scalar or a per-layer list, checked with one line by the net builder
    "net.g_project": int, "net.g_start": int,
    **{f"net.{k}": "ints" for k in ("g_filters", "g_strides", "g_kernel", "g_fc", "d_filters", "d_strides",
                                    "d_kernel", "d_fc")},
    **{f"net.{k}": "words" for k in ("g_padding", "d_padding", "d_pool")},
}
PER_LAYER = {"net.d_dropout", "net.d_norm"}  # a scalar for every layer or a list, one value per layer
CHOICES = {
    "data.on_bad_file": ("skip", "fail"),
    "data.channels": (1, 3, None),
    "net.arch": ("dcgan", "mlp"),
    "net.g_arch": ("dcgan", "mlp", None),
    "net.d_arch": ("dcgan", "mlp", None),
    "net.g_norm": ("batch", "none"),
    "net.d_norm": ("batch", "layer", "none"),
    "net.d_activation": ("leaky_relu", "relu"),
    "loss.type": ("bce", "lsgan", "wgan", "hinge"),
    "train.optimizer": ("adam", "rmsprop"),
    "train.mixed_precision": ("auto", "float32", "mixed_bfloat16", "mixed_float16"),
    "train.strategy": ("default", "mirrored", "multiworker"),
    "train.verbose": ("auto", 0, 1, 2),
    "cyclegan.norm": ("instance", "batch", "none"),
    "vae.recon": ("mean", "sum"),
    "conditional.mode": ("concat", "projection", "acgan"),
    "watchdog.on_nan": ("stop", "warn", "restore"),
    "watchdog.on_collapse": ("stop", "warn"),
    "watchdog.on_grad_norm": ("stop", "warn"),
    "cyclegan.photo_domain": ("A", "B"),
    "cyclegan.export_directions": ("both", "to_style"),
}
LISTS_OR_STRINGS = {"augment.policy"}  # "" or a comma-separated string, or a list of names
# key -> (lowest, highest, whether the lowest is allowed, whether the highest is allowed); None = no bound
RANGES = {
    "data.image_size": (8, None, True, True),
    "train.g_lr": (0, None, True, True),  # 0 freezes a net (a legitimate experiment)
    "train.d_lr": (0, None, True, True),
    "train.beta_1": (0, 1, True, False),
    "train.beta_2": (0, 1, True, False),
    "train.ema": (0, 1, True, False),
    "loss.label_smoothing": (0, 1, True, False),
    "net.d_dropout": (0, 1, True, False),
    "watchdog.nan_lr_factor": (0, 1, False, True),
    "watchdog.nan_retries": (0, None, True, True),
    "cyclegan.pool_size": (0, None, True, True),
    "eval.n": (2, None, True, True),
    "augment.p": (0, 1, True, True),
    "augment.target": (0, 1, True, True),
    "augment.translation_ratio": (0, 0.5, True, True),
    "augment.cutout_ratio": (0, 1, True, True),
}


def key_spec(key: str) -> dict:
    """{type, nullable, choices, lo, hi, lo_ok, hi_ok} for one key, derived from its default and the tables above."""
    default = _flatten(DEFAULTS)[key]
    if key in NULLABLE:
        kind, nullable = NULLABLE[key], True
    else:
        kind, nullable = type(default), False
    lo = hi = None
    lo_ok = hi_ok = True
    if kind in (int, float):
        lo = 1 if kind is int and isinstance(default, int) and default >= 1 else 0
    if key in RANGES:
        lo, hi, lo_ok, hi_ok = RANGES[key]
    return {"type": kind, "nullable": nullable, "choices": CHOICES.get(key), "lo": lo, "hi": hi,
            "lo_ok": lo_ok, "hi_ok": hi_ok}


def _describe(spec: dict) -> str:
    if spec["choices"] is not None:
        words = [("null" if c is None else str(c)) for c in spec["choices"]]
        return "one of " + ", ".join(words)
    kind = spec["type"]
    if kind == "schedule":
        return "null, 'warmup' or a mapping {epoch: weight}"
    if kind == "ints":
        return "an integer >= 0 or a list of them (one per layer), or null"
    if kind == "words":
        return "a word or a list of words (one per layer), or null"
    if kind == "any":
        return "a value its section documents"
    name = {bool: "true or false", int: "an integer", float: "a number", str: "a string", list: "a list"}[kind]
    if kind in (int, float) and (spec["lo"] is not None or spec["hi"] is not None):
        lo, hi = spec["lo"], spec["hi"]
        if hi is None:
            name += f" >= {lo}" if spec["lo_ok"] else f" > {lo}"
        else:
            name += f" in {'[' if spec['lo_ok'] else '('}{lo}, {hi}{']' if spec['hi_ok'] else ')'}"
    return name + (" or null" if spec["nullable"] else "")


def check_value(key: str, value: Any) -> Any:
    """The value, normalised (a number written as a string, like 1e-4, becomes a float); UserError naming the key
    when its type or range is wrong."""
    spec = key_spec(key)
    kind = spec["type"]

    def bad():
        return UserError(f"{key} must be {_describe(spec)}, got {value!r} (fix it in the config or with --set {key}=...)")

    if kind in ("ints", "words") and value is not None:  # one value for every layer, or a list: one per layer
        items = value if isinstance(value, list) else [value]
        ok = (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0) if kind == "ints" else \
            (lambda v: isinstance(v, str) and v.strip() != "")
        if not items or not all(ok(v) for v in items):
            raise bad()
        return value
    if kind == "any" or (key in PER_LAYER and isinstance(value, list)):
        return value  # the net builder / schedule validator checks these with their own one-line errors
    if value is None:
        if spec["nullable"] or (spec["choices"] is not None and None in spec["choices"]):
            return None
        raise bad()
    if spec["choices"] is not None:
        if isinstance(value, bool) or value not in spec["choices"]:
            raise bad()
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise bad()
        return value
    if key in LISTS_OR_STRINGS:
        if isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            return value
        raise bad()
    if kind is str:
        if key == "data.cache_dir" and value is False:  # false = no cache at all
            return value
        if not isinstance(value, str) or not value.strip():
            raise bad()
        if key == "name" and ("/" in value or "\\" in value or value in (".", "..")):
            raise bad()
        return value
    if kind is list:
        if not isinstance(value, list):
            raise bad()
        if key == "net.mlp_units" and not all(isinstance(u, int) and not isinstance(u, bool) and u >= 1 for u in value):
            raise bad()
        return value
    if kind == "schedule":
        if value in ("warmup", "none") or isinstance(value, dict):
            return value
        raise bad()
    # numbers
    if isinstance(value, bool):
        raise bad()
    if kind is float and isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise bad() from None
    if kind is int and not isinstance(value, int):
        raise bad()
    if kind is float and not isinstance(value, (int, float)):
        raise bad()
    if kind is float and not math.isfinite(value):
        raise bad()
    lo, hi = spec["lo"], spec["hi"]
    if lo is not None and (value < lo or (value == lo and not spec["lo_ok"])):
        raise bad()
    if hi is not None and (value > hi or (value == hi and not spec["hi_ok"])):
        raise bad()
    return value


def check_values(cfg: dict) -> dict:
    """check_value for every key of the schema, in place."""
    for key in VALID_KEYS:
        *sections, leaf = key.split(".")
        node = cfg
        for s in sections:
            node = node[s]
        node[leaf] = check_value(key, node[leaf])
    return cfg


def _flatten(d: dict, prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


VALID_KEYS = sorted(_flatten(DEFAULTS))
SECTIONS = {k for k, v in DEFAULTS.items() if isinstance(v, dict)}


def _nearest(key: str) -> str:
    candidates = VALID_KEYS + sorted(SECTIONS)
    match = difflib.get_close_matches(key, candidates, n=1, cutoff=0.4)
    if not match:  # compare the last component alone ("epoch" -> "train.epochs")
        tails = {k.split(".")[-1]: k for k in VALID_KEYS}
        m = difflib.get_close_matches(key.split(".")[-1], list(tails), n=1, cutoff=0.5)
        match = [tails[m[0]]] if m else []
    return f" (did you mean '{match[0]}'?)" if match else ""


def _merge(base: dict, override: dict, where: str, prefix: str = "") -> dict:
    """Deep-merge override into a copy of base, rejecting keys base does not know."""
    out = copy.deepcopy(base)
    for k, v in (override or {}).items():
        key = f"{prefix}{k}"
        if k not in base:
            raise UserError(f"unknown config key '{key}' in {where}{_nearest(key)}")
        if isinstance(base[k], dict):
            if not isinstance(v, dict):
                raise UserError(f"config key '{key}' in {where} must be a mapping of keys, got {v!r}")
            out[k] = _merge(base[k], v, where, key + ".")
        else:
            out[k] = copy.deepcopy(v)
    return out


def preset_path(name_or_path: str) -> Path:
    """A preset name from configs/ (without .yaml) or a path to a YAML file."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or os.sep in name_or_path:
        if not p.is_file():
            raise UserError(f"config file not found: {name_or_path}")
        return p
    cand = CONFIG_DIR / f"{name_or_path.replace('-', '_')}.yaml"
    if cand.is_file():
        return cand
    known = list_presets()
    m = difflib.get_close_matches(name_or_path, known, n=1)
    hint = f" (did you mean '{m[0]}'?)" if m else ""
    raise UserError(f"unknown model preset '{name_or_path}'{hint}; known presets: {', '.join(known)}")


def list_presets() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise UserError(f"{path} is not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path} must hold a mapping of config keys, got {type(data).__name__}")
    return data


def _load_preset_chain(path: Path, seen: tuple = ()) -> dict:
    raw = _read_yaml(path)
    base_name = raw.pop("base", None)
    if base_name:
        base_path = preset_path(str(base_name))
        if base_path.resolve() in seen:
            raise UserError(f"config 'base' chain loops at {base_path}")
        base = _load_preset_chain(base_path, seen + (path.resolve(),))
    else:
        base = DEFAULTS
    return _merge(base, raw, str(path))


def parse_override(item: str) -> tuple[str, Any]:
    if "=" not in item:
        raise UserError(f"--set expects KEY=VALUE (e.g. train.epochs=5), got '{item}'")
    key, value = item.split("=", 1)
    key = key.strip()
    try:
        parsed = yaml.safe_load(value) if value.strip() != "" else None
    except yaml.YAMLError:
        parsed = value
    return key, parsed


def apply_overrides(cfg: dict, overrides: dict[str, Any]) -> dict:
    cfg = copy.deepcopy(cfg)
    for key, value in overrides.items():
        if key not in VALID_KEYS:
            raise UserError(f"unknown config key '{key}'{_nearest(key)}")
        node = cfg
        parts = key.split(".")
        for p in parts[:-1]:
            node = node[p]
        node[parts[-1]] = value
    return cfg


def validate(cfg: dict) -> dict:
    """Check values that would otherwise fail deep inside TensorFlow."""
    check_values(cfg)  # every key's type and range first, then the rules that relate keys
    t, d, n = cfg["train"], cfg["data"], cfg["net"]
    for key in ("epochs", "batch_size", "d_steps", "g_steps"):
        if not isinstance(t[key], int) or t[key] < 1:
            raise UserError(f"train.{key} must be a positive integer, got {t[key]!r}")
    if not isinstance(d["image_size"], int) or d["image_size"] < 8:
        raise UserError(f"data.image_size must be an integer >= 8, got {d['image_size']!r}")
    if n["arch"] == "dcgan" and d["image_size"] % 4:
        raise UserError(f"data.image_size must be a multiple of 4 for the dcgan nets, got {d['image_size']}")
    if d["on_bad_file"] not in ("skip", "fail"):
        raise UserError(f"data.on_bad_file must be 'skip' or 'fail', got {d['on_bad_file']!r}")
    if d["channels"] not in (None, 1, 3):
        raise UserError(f"data.channels must be 1, 3 or null, got {d['channels']!r}")
    if cfg["loss"]["type"] not in ("bce", "lsgan", "wgan", "hinge"):
        raise UserError(f"loss.type must be one of bce, lsgan, wgan, hinge; got {cfg['loss']['type']!r}")
    w = cfg["watchdog"]
    for key, allowed in (("on_nan", ("stop", "warn", "restore")), ("on_collapse", ("stop", "warn")),
                         ("on_grad_norm", ("stop", "warn"))):
        if w[key] not in allowed:
            raise UserError(f"watchdog.{key} must be one of {', '.join(allowed)}; got {w[key]!r}")
    if t["strategy"] not in ("default", "mirrored", "multiworker"):
        raise UserError(f"train.strategy must be default, mirrored or multiworker; got {t['strategy']!r}")
    from keras_gans.augment import check_config as check_augment

    check_augment(cfg)
    if cfg["model"] == "cyclegan":
        _validate_cyclegan(cfg)
    if cfg["model"] == "vae":
        from keras_gans.models.kl_schedule import validate_vae_section

        validate_vae_section(cfg["vae"])
    _validate_nets(cfg)
    e = cfg.get("eval") or {}
    if not isinstance(e.get("every"), int) or e["every"] < 0:
        raise UserError(f"eval.every must be an integer >= 0 (epochs between FID measurements), got {e.get('every')!r}")
    if not isinstance(e.get("n"), int) or e["n"] < 2:
        raise UserError(f"eval.n must be an integer >= 2, got {e.get('n')!r}")
    if e.get("every") and e.get("label_sets") and not (e.get("classifier") or str(e.get("features") or "").endswith(".keras")):
        raise UserError("eval.label_sets needs a multi-label classifier: set eval.classifier=FILE.keras "
                        "(from `python cli.py train-classifier --multilabel`)")
    if d.get("resize", "crop") not in ("crop", "squash", "pad"):
        raise UserError(f"data.resize must be crop, squash or pad; got {d['resize']!r}")
    if not isinstance(d.get("ignore_tags") or [], list):
        raise UserError(f"data.ignore_tags must be a list of tags, e.g. [polychromatic, long], got {d['ignore_tags']!r}")
    if t.get("schedule"):
        from keras_gans.models.schedule import validate_schedule

        validate_schedule(t["schedule"], cfg)
    return cfg


def _validate_nets(cfg: dict):
    """The issue-13 keys whose bad values would fail late; per-layer lists are checked where the nets are built."""
    n, c = cfg["net"], cfg.get("conditional") or {}
    z = n.get("z_std", 1.0)
    if isinstance(z, bool) or not isinstance(z, (int, float)) or not z > 0:
        raise UserError(f"net.z_std must be a number > 0 (the latent noise's standard deviation), got {z!r}")
    m = n.get("bn_momentum", 0.9)
    if isinstance(m, bool) or not isinstance(m, (int, float)) or not 0 <= m < 1:
        raise UserError(f"net.bn_momentum must be a number in [0, 1), got {m!r}")
    for key, allowed in (("g_upsample", ("transpose", "nearest")), ("g_order", ("norm-act", "act-norm")),
                         ("d_order", ("norm-act", "act-norm")), ("d_score_head", ("dense", "conv"))):
        if n.get(key) not in allowed:
            raise UserError(f"net.{key} must be one of {', '.join(allowed)}; got {n.get(key)!r}")
    if n.get("d_score_head") == "conv" and n.get("d_fc"):
        raise UserError("net.d_score_head=conv reads D's last conv map, but net.d_fc adds Dense layers after it; "
                        "use d_score_head: dense with d_fc")
    if c.get("fake_labels", "real") not in ("real", "random"):
        raise UserError(f"conditional.fake_labels must be real or random; got {c.get('fake_labels')!r}")
    if c.get("class_loss", "mean") not in ("mean", "sum"):
        raise UserError(f"conditional.class_loss must be mean or sum; got {c.get('class_loss')!r}")


def _validate_cyclegan(cfg: dict):
    c, t = cfg["cyclegan"], cfg["train"]
    if t["d_steps"] != 1 or t["g_steps"] != 1:
        raise UserError("cyclegan makes one G and one D update per step: set train.d_steps=1 and train.g_steps=1")
    for key in ("g_filters", "n_blocks", "d_filters", "d_layers", "n_test_samples", "scenes_per_domain"):
        if not isinstance(c[key], int) or c[key] < 1:
            raise UserError(f"cyclegan.{key} must be a positive integer, got {c[key]!r}")
    for key in ("lambda_cycle", "lambda_identity"):
        if not isinstance(c[key], (int, float)) or c[key] < 0:
            raise UserError(f"cyclegan.{key} must be a number >= 0, got {c[key]!r}")
    if not isinstance(c["pool_size"], int) or c["pool_size"] < 0:
        raise UserError(f"cyclegan.pool_size must be an integer >= 0, got {c['pool_size']!r}")
    if cfg["watchdog"]["on_nan"] == "restore":
        raise UserError("watchdog.on_nan=restore rescales a constant learning rate, but cyclegan's follows its decay "
                        "schedule; use watchdog.on_nan=stop (then --resume with lower train.g_lr/d_lr) or warn")
    if c["photo_domain"] not in ("A", "B"):
        raise UserError(f"cyclegan.photo_domain must be A or B (the folder side that holds the photos), got {c['photo_domain']!r}")
    if c["norm"] not in ("instance", "batch", "none"):
        raise UserError(f"cyclegan.norm must be instance, batch or none; got {c['norm']!r}")
    de = c["decay_epochs"]
    if de is not None and (not isinstance(de, int) or not 0 <= de <= t["epochs"]):
        raise UserError(f"cyclegan.decay_epochs must be null or an integer in 0..train.epochs ({t['epochs']}), got {de!r}")
    size = cfg["data"]["image_size"]
    if size % 4 or size < min_image_size(c["d_layers"]):
        raise UserError(
            f"data.image_size {size} does not fit cyclegan: it must be a multiple of 4 and at least "
            f"{min_image_size(c['d_layers'])} for cyclegan.d_layers={c['d_layers']} (lower d_layers for tiny images)"
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


def load_config(name_or_path: str, overrides: dict[str, Any] | None = None) -> dict:
    """Resolve a preset (with its base chain) and the CLI overrides into one validated config."""
    cfg = _load_preset_chain(preset_path(name_or_path))
    cfg = apply_overrides(cfg, overrides or {})
    return validate(cfg)


def load_run_config(run_dir: str | Path) -> dict:
    """The exact config a run used (RUN/config.yaml), merged over today's defaults for forward compatibility."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise UserError(f"{run_dir} is not a run directory (no config.yaml); pass the --run-dir of a train run")
    return validate(_merge(DEFAULTS, _read_yaml(path), str(path)))


def save_config(cfg: dict, run_dir: str | Path) -> Path:
    path = Path(run_dir) / "config.yaml"
    atomic_write_text(path, yaml.safe_dump(cfg, sort_keys=False))
    return path


# Public names for what train.py and the commands use (tests/test_layers.py: no private names across modules).
flatten, nearest_key, merge, read_yaml = _flatten, _nearest, _merge, _read_yaml
