"""`gan.schedule`: D:G step ratios, learning rates and loss weights that change at a train step.

    gan:
      d_steps: 5
      schedule:
        - {step: 0, d_steps: 100}                    # WGAN's warm start: 100 critic updates per G update ...
        - {step: 25, d_steps: 5}                     # ... for the first 25 steps, then 5
        - {step: 2000, g_steps: 2, adv_weight: 0.5, head_weights: {hair: 0.3}, g_lr: 1.0e-4}

Each entry holds from its (0-based, global) step on; entries are cumulative (an entry changes only the keys it
names). Keys: d_steps, g_steps, g_lr, d_lr, gp_weight, adv_weight, head_weights ({head name: weight}).

Cost inside the compiled step: loss weights and learning rates are tf.Variables read by the step and assigned by a
callback at the step boundary where they change, so the step is traced once. A step ratio is the structure of the
step (how many updates it unrolls), so a change of d_steps/g_steps re-traces the step once, at that boundary (a
few seconds, a handful of times per run). The data pipeline feeds max(d_steps) real batches per step; a step with
fewer D updates uses the first of them. Everything is recomputed from the step counter at the start of `fit`, so
a resumed run continues the schedule exactly. With train.steps_per_execution = K the callback sees every K-th
step: changes happen at the first boundary at or after their step.
"""

from __future__ import annotations

from keras_gans.core.errors import UserError

INT_KEYS = ("d_steps", "g_steps")
FLOAT_KEYS = ("g_lr", "d_lr", "gp_weight", "adv_weight")
KEYS = ("step",) + INT_KEYS + FLOAT_KEYS + ("head_weights",)


def _num(v, what):
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise UserError(f"{what} must be a number, got {v!r}") from None
    if not f >= 0 or f == float("inf"):
        raise UserError(f"{what} must be a finite number >= 0, got {v!r}")
    return f


def validate_schedule(schedule, cfg: dict) -> list[dict]:
    """Check gan.schedule; returns its entries sorted by step with numbers parsed."""
    if not isinstance(schedule, list):
        raise UserError("gan.schedule must be a list of entries like {step: 500, d_steps: 1, adv_weight: 0.5}")
    out = []
    for i, e in enumerate(schedule):
        where = f"gan.schedule[{i}]"
        if not isinstance(e, dict) or "step" not in e:
            raise UserError(f"{where} must be a mapping with a step, e.g. {{step: 500, d_steps: 1}}; got {e!r}")
        bad = sorted(set(e) - set(KEYS))
        if bad:
            raise UserError(f"{where} has unknown key '{bad[0]}' (known: {', '.join(KEYS)})")
        if not isinstance(e["step"], int) or e["step"] < 0:
            raise UserError(f"{where}.step must be an integer >= 0 (a train step, counted from 0), got {e['step']!r}")
        entry = {"step": e["step"]}
        for k in INT_KEYS:
            if k in e:
                if not isinstance(e[k], int) or e[k] < 1:
                    raise UserError(f"{where}.{k} must be a positive integer, got {e[k]!r}")
                entry[k] = e[k]
        for k in FLOAT_KEYS:
            if k in e:
                entry[k] = _num(e[k], f"{where}.{k}")
        if "head_weights" in e:
            hw = e["head_weights"]
            if not isinstance(hw, dict) or not hw:
                raise UserError(f"{where}.head_weights must map head names to weights, e.g. {{hair: 0.3}}")
            heads = [h.get("name") for h in (cfg.get("conditional", {}).get("heads") or []) if isinstance(h, dict)]
            for name, w in hw.items():
                if name not in heads:
                    raise UserError(f"{where}.head_weights names '{name}', which is not a conditional head "
                                    f"({', '.join(map(str, heads)) or 'this model has none'})")
                _num(w, f"{where}.head_weights.{name}")
            entry["head_weights"] = {str(k): float(v) for k, v in hw.items()}
        out.append(entry)
    if any("adv_weight" in e or "head_weights" in e for e in out) and cfg.get("model") == "gan":
        raise UserError("gan.schedule: adv_weight and head_weights need a conditional model (cgan/acgan)")
    if any(k in e for e in out for k in INT_KEYS) and cfg["gan"].get("reuse_fake"):
        raise UserError("gan.schedule changes d_steps/g_steps, which gan.reuse_fake (one G forward) cannot follow")
    if cfg["train"].get("strategy") == "multiworker" and any(k in e for e in out for k in INT_KEYS):
        raise UserError("gan.schedule: d_steps/g_steps changes re-trace the step, which multiworker training "
                        "does not support; schedule weights and learning rates only")
    return sorted(out, key=lambda e: e["step"])


def values_at(schedule: list[dict], step: int, base: dict) -> dict:
    """The scheduled values in force at `step`: base, then each entry with entry.step <= step, in order."""
    out = dict(base)
    out["head_weights"] = dict(base.get("head_weights") or {})
    for e in schedule:
        if e["step"] > step:
            break
        for k, v in e.items():
            if k == "head_weights":
                out["head_weights"].update(v)
            elif k != "step":
                out[k] = v
    return out


def make_callback(model):
    """The Keras callback that applies model.schedule at step boundaries (see the module docstring)."""
    import keras

    class ScheduleCallback(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.boundaries = sorted({e["step"] for e in model.schedule})
            self.step = self.epoch_start = 0
            self.next = None
            self.events: list[tuple[int, dict]] = []  # (step, values) each time something changed (for tests)

        def _apply(self, step):
            self.step = step
            values = values_at(model.schedule, step, model.schedule_base)
            changed = model.apply_schedule(values)
            if changed:
                self.events.append((step, values))
            later = [b for b in self.boundaries if b > step]
            self.next = later[0] if later else None

        def on_train_begin(self, logs=None):
            self._apply(int(model.step_counter.numpy()))

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_start = self.step

        def on_train_batch_begin(self, batch, logs=None):
            if self.next is not None and self.epoch_start + batch >= self.next:
                self._apply(self.epoch_start + batch)

        def on_train_batch_end(self, batch, logs=None):
            # `batch` is the last step of this call (with steps_per_execution > 1 a call runs several steps)
            self.step = self.epoch_start + batch + 1

    return ScheduleCallback()
