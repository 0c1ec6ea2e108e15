"""The GAN family's config section (`gan:`, model: gan | cgan | acgan), declared next to it: the knobs only the
adversarial families with a latent generator read (D:G step ratio, its schedule, G's EMA, the WGAN-GP penalty and
the other D tricks), the value tables config/loader.py reads for the per-key checks, `validate`, and the keys that sat in
the shared train: and loss: sections before (MOVED: old key -> new key; still read, with a warning, until 0.3).
Light: no TensorFlow."""

from __future__ import annotations

SECTION = "gan"
DEFAULTS = {  # see keras_gans/models/gan.py
    "d_steps": 1,  # D updates per train step (n_critic); each uses a fresh real batch
    "g_steps": 1,  # G updates per train step
    "reuse_fake": False,  # with d_steps = g_steps = 1: G's loss on the fakes D just trained on (one G forward)
    # changes at a train step: [{step: 0, d_steps: 5}, {step: 500, d_steps: 1, g_steps: 2, adv_weight: 0.5}]
    # (keys: d_steps, g_steps, g_lr, d_lr, gp_weight, adv_weight, head_weights: {name: w}); docs/knobs.md
    "schedule": None,
    "ema": 0.0,  # decay of G's exponential moving average (0 = off); used for samples and export
    "gp_weight": 0.0,  # WGAN-GP gradient penalty lambda (0 = off)
    "r1_gamma": 0.0,  # R1 penalty gamma/2 * ||grad D(real)||^2 (0 = off); with bce/lsgan/hinge
    "top_k": 0.0,  # G's loss on the top-k fakes by D's score: the floor of k / batch (0 = off; Sinha et al. 2020)
    "top_k_decay": 0.99,  # k / batch = max(top_k, top_k_decay ** epoch): all fakes at first, the floor later
    "clip_value": 0.0,  # WGAN weight clipping c (0 = off)
    "label_smoothing": 0.0,  # one-sided: real targets become 1 - s (bce/lsgan)
    "instance_noise": 0.0,  # stddev of Gaussian noise added to D's inputs (real and fake)
}
FAMILIES = ("gan", "cgan", "acgan")  # the config values of `model` this section belongs to
MOVED = {  # old key -> new key; a config that writes the old key gets one warning line (removed in 0.3)
    "train.d_steps": "gan.d_steps",
    "train.g_steps": "gan.g_steps",
    "train.reuse_fake": "gan.reuse_fake",
    "train.schedule": "gan.schedule",
    "train.ema": "gan.ema",
    "loss.gp_weight": "gan.gp_weight",
    "loss.clip_value": "gan.clip_value",
    "loss.label_smoothing": "gan.label_smoothing",
    "loss.instance_noise": "gan.instance_noise",
}
NULLABLE = {"gan.schedule": "any"}
CHOICES: dict = {}
RANGES = {"gan.ema": (0, 1, True, False), "gan.r1_gamma": (0, float("inf"), True, False),
          "gan.top_k": (0, 1, True, True), "gan.top_k_decay": (0, 1, False, True), "gan.label_smoothing": (0, 1, True, False)}


def validate(cfg: dict):
    """The schedule (models/schedule.py), checked against the rest of the config (only for these families)."""
    if cfg["gan"].get("schedule"):
        from keras_gans.models.schedule import validate_schedule

        validate_schedule(cfg["gan"]["schedule"], cfg)


def max_d_steps(cfg: dict) -> int:
    """Real batches per train step the pipeline must feed: the largest d_steps the run will use (the schedule may
    raise it later: the pipeline feeds the most, and a step with fewer D updates uses the first slices)."""
    g = cfg["gan"]
    return max([int(g["d_steps"])] + [int(e["d_steps"]) for e in (g.get("schedule") or []) if "d_steps" in e])
