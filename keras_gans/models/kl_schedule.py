"""The VAE's KL weight (lambda) per epoch, and the checks on the `vae:` config section. No TensorFlow here, so
config validation stays fast.

    vae:
      kl_weight: 5.0e-4          # lambda
      kl_schedule: null          # constant lambda
      kl_schedule: warmup        # lambda = kl_weight * min(1, epoch / warmup_epochs)   (epochs counted from 1)
      kl_schedule: {1: 0.0, 4: 1.0e-4, 8: 5.0e-4}   # piecewise constant: each weight holds from that epoch on;
                                                     # epochs before the first key use kl_weight
"""

from __future__ import annotations

from keras_gans.core.errors import UserError


def _float(value, what: str) -> float:
    try:
        v = float(value)  # YAML reads 1e-4 (no dot) as a string: accept it
    except (TypeError, ValueError):
        raise UserError(f"{what} must be a number, got {value!r}") from None
    if not v >= 0.0 or v == float("inf"):
        raise UserError(f"{what} must be a finite number >= 0, got {value!r}")
    return v


def _epoch(key) -> int:
    try:
        e = int(key)
        if str(e) != str(key).strip():
            raise ValueError
    except (TypeError, ValueError):
        raise UserError(f"vae.kl_schedule keys must be epoch numbers (1, 2, ...), got {key!r}") from None
    if e < 1:
        raise UserError(f"vae.kl_schedule epochs count from 1, got {e}")
    return e


def validate_vae_section(v: dict) -> dict:
    """Normalise the vae section in place (numbers parsed, schedule keys as ints); raise UserError when wrong."""
    v["kl_weight"] = _float(v["kl_weight"], "vae.kl_weight")
    sched = v["kl_schedule"]
    if sched is None or sched == "none":
        v["kl_schedule"] = None
    elif sched == "warmup":
        w = v["warmup_epochs"]
        if not isinstance(w, int) or isinstance(w, bool) or w < 1:
            raise UserError(f"vae.warmup_epochs must be a positive integer, got {w!r}")
    elif isinstance(sched, dict):
        if not sched:
            raise UserError("vae.kl_schedule is an empty mapping; give {epoch: weight, ...} or null")
        v["kl_schedule"] = {
            _epoch(k): _float(w, f"vae.kl_schedule[{k}]") for k, w in sorted(sched.items(), key=lambda kv: _epoch(kv[0]))
        }
    else:
        raise UserError(
            f"vae.kl_schedule must be null, 'warmup' or a mapping {{epoch: weight}}, got {sched!r} "
            "(e.g. --set 'vae.kl_schedule={1: 0.0, 5: 1.0e-4}')"
        )
    if v["recon"] not in ("mean", "sum"):
        raise UserError(f"vae.recon must be 'mean' or 'sum' (squared error per image), got {v['recon']!r}")
    h = v["holdout"]
    if isinstance(h, bool) or not isinstance(h, (int, float)) or h < 0 or (isinstance(h, float) and h >= 1):
        raise UserError(f"vae.holdout must be a fraction in [0, 1) or a count of images, got {h!r}")
    n = v["n_recon"]
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise UserError(f"vae.n_recon must be a positive integer, got {n!r}")
    return v


def kl_weight_at(v: dict, epoch: int) -> float:
    """lambda for 1-based `epoch` under the (validated) vae section v."""
    sched, base = v["kl_schedule"], float(v["kl_weight"])
    if sched is None:
        return base
    if sched == "warmup":
        return base * min(1.0, epoch / float(v["warmup_epochs"]))
    weight = base
    for e, w in sorted((int(k), float(w)) for k, w in sched.items()):
        if e <= epoch:
            weight = w
    return weight
