"""The VAE's config section (`vae:`), declared next to the family: defaults, the value tables config/loader.py reads for
the per-key checks, and `validate` (the KL schedule, parsed by models/kl_schedule.py). Light: no TensorFlow."""

from __future__ import annotations

from keras_gans.models.kl_schedule import validate_vae_section

SECTION = "vae"
DEFAULTS = {  # see configs/vae.yaml for the choice of values
    "kl_weight": 1.0e-3,  # lambda: loss = recon + lambda * KL (KL summed over latent dims, per image)
    "kl_schedule": None,  # None | warmup | {epoch: weight, ...} (1-based; each weight holds from that epoch on)
    "warmup_epochs": 5,  # with kl_schedule=warmup: lambda = kl_weight * min(1, epoch / warmup_epochs)
    "recon": "mean",  # squared error per image over its pixels in [-1, 1]: mean | sum
    "holdout": 0.05,  # images held out of training (fraction < 1, or a count) for recon grids and MSE
    "n_recon": 16,  # originals in RUN/samples/recon_epoch_XXXX.png (each over its reconstruction)
    "tanh_mean": False,  # bound the latent mean with tanh (mu in (-1, 1)), as in the face-study VAE
}
FAMILIES = ("vae",)  # the config values of `model` this section belongs to
SHARED_NOT_READ = ("loss", "augment")  # shared sections this family never reads (config.unread_keys warns on them)
NULLABLE = {"vae.kl_schedule": "schedule"}
CHOICES = {"vae.recon": ("mean", "sum")}
RANGES: dict = {}


def validate(cfg: dict):
    """Normalise and check the vae section (only for model: vae)."""
    validate_vae_section(cfg["vae"])
