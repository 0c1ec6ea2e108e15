"""The config schema: every key and its default (DEFAULTS), composed from the shared sections below and the
sections the families declare beside their code (models/NAME_config.py for a family registered in
models.FAMILIES as "keras_gans.models.NAME:Class"). A key absent here does not exist.
Light: no TensorFlow, so a bad key is reported in a second."""

from __future__ import annotations

from typing import Any

from keras_gans.models import DEFAULT_FAMILY, family_sections


FAMILY_SLOT = "<families>"

# The shared sections, in the order users see in RUN/config.yaml; the families' sections go in at FAMILY_SLOT.
SHARED: dict[str, Any] = {
    "name": "dcgan",  # run / export name
    "model": DEFAULT_FAMILY,  # model family: one of keras_gans.models.FAMILIES
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
        "arch": "dcgan",  # one of registry.ARCHS (dcgan | mlp), for G and D alike; g_arch/d_arch override each
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
        "mlp_hidden": None,  # h of the MNIST lab's MLP: G 4h-2h-h, D h-2h-4h (overrides mlp_units); None = mlp_units
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
        "d_fc_activation": None,  # activation of D's / the encoder's d_fc layers: None = d_activation | tanh | relu | leaky_relu
        "g_project_act": True,  # false: G's projection is a plain Linear (bias, no BN + ReLU after it), as in the i-CLEVR lab
        "conv_bias": None,  # None = a bias where no norm follows (as always); false = no conv bias anywhere (PyTorch bias=False)
    },
    "loss": {
        "type": "bce",  # one of registry.LOSSES: bce (non-saturating) | lsgan | wgan | hinge (the GAN family's
        #                 penalties and D tricks are in its own section, gan:)
    },
    "train": {
        "epochs": 5,
        "batch_size": 64,
        "optimizer": "adam",  # one of registry.OPTIMIZERS: adam | rmsprop
        "g_lr": 2e-4,
        "d_lr": 2e-4,
        "beta_1": 0.5,
        "beta_2": 0.999,
        "seed": 0,
        "deterministic": False,  # tf.config.experimental.enable_op_determinism
        "mixed_precision": "auto",  # auto | float32 | mixed_bfloat16 | mixed_float16
        "jit_compile": False,
        "steps_per_execution": 1,
        # TF thread pools: auto (the CPUs this process may use, laid out for the family's step: one op at a time on
        # all of them, or a translator's independent ops side by side) | tf (TF's defaults) | N | [intra, inter]
        "threads": "auto",
        "strategy": "default",  # default | mirrored | multiworker
        "steps_per_epoch": None,  # None = one pass over the data
        "max_minutes": None,  # stop (checkpoint, samples, export) after this many wall-clock minutes of training
        "max_cpu_minutes": None,  # ... or after this much CPU time (all threads): equal-budget comparisons
        "verbose": "auto",
    },
    "callbacks": {
        "sample_every": 1,  # epochs between sample grids
        "n_samples": 64,  # images in each grid (a square number is best)
        "grid_cell": 64,  # cells of sample grids smaller than this (px) are enlarged, nearest neighbour; 0 = raw size
        "checkpoint_every": 1,  # epochs between checkpoints
        "keep_checkpoints": 3,
        "log_every": 10,  # steps between rows of steps.csv (per-step curves)
        "tensorboard": True,
        "export_every": 0,  # epochs between SavedModel exports (0 = only at the end)
        "export_dir": None,  # null = the export stays in RUN/export/N; a folder = also publish to FOLDER/NAME/N
        "export_at_end": True,
    },
    FAMILY_SLOT: None,  # the families' own sections (family_sections), composed by compose_defaults
    "augment": {  # differentiable augmentation of every image D sees (keras_gans/parts/augment.py, docs/augment.md)
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
        "on_collapse": "warn",  # warn | stop | rollback (stop and go back to the best checkpoint, eval.keep_best)
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
        "keep_best": True,  # with every > 0: keep RUN/best (checkpoint, export, best.json) of the best score
        "best_metric": "auto",  # auto (kid, or label_score without FID) | kid | fid | label_score
    },
}


def compose_defaults(sections=None) -> dict[str, Any]:
    """The one schema: the shared sections with each family's section (SECTION: DEFAULTS) at FAMILY_SLOT."""
    out: dict[str, Any] = {}
    for key, value in SHARED.items():
        if key == FAMILY_SLOT:
            out.update({s.SECTION: s.DEFAULTS for s in (family_sections() if sections is None else sections)})
        else:
            out[key] = value
    return out


def moved_keys(sections=None) -> dict[str, str]:
    """{old key: new key} the families declare (MOVED) for keys that left the shared sections."""
    return {old: new for s in (family_sections() if sections is None else sections)
            for old, new in getattr(s, "MOVED", {}).items()}


def flatten(d: dict, prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


FAMILY_SECTIONS = family_sections()
DEFAULTS = compose_defaults(FAMILY_SECTIONS)
MOVED = moved_keys(FAMILY_SECTIONS)
VALID_KEYS = sorted(flatten(DEFAULTS))
SECTIONS = {k for k, v in DEFAULTS.items() if isinstance(v, dict)}
