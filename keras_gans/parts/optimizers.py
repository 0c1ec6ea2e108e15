"""The one optimizer factory, and the learning-rate schedules families put on it.

Every family builds its optimizers here (`from_train_config`), so `train.optimizer`, the Adam betas and the
mixed_float16 loss scaling mean the same for all of them; a family that decays its rate passes a schedule
(`LinearDecay`, CycleGAN's) as the learning rate.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_gans.core.errors import UserError
from keras_gans.core.registry import OPTIMIZERS


def make_optimizer(kind: str, lr, beta_1: float, beta_2: float, mixed_float16: bool = False):
    """An optimizer by name; lr is a number or a keras LearningRateSchedule. Wrapped in a LossScaleOptimizer
    under mixed_float16 (the core's `apply_update` scales the loss through it)."""
    if kind == "adam":
        opt = keras.optimizers.Adam(lr, beta_1=beta_1, beta_2=beta_2)
    elif kind == "rmsprop":
        opt = keras.optimizers.RMSprop(lr)
    else:
        raise UserError(f"unknown optimizer '{kind}' ({' or '.join(OPTIMIZERS)})")
    return keras.optimizers.LossScaleOptimizer(opt) if mixed_float16 else opt


def from_train_config(train: dict, lr):
    """make_optimizer with the train section's kind, betas and precision; lr a number or a schedule."""
    return make_optimizer(train["optimizer"], lr, train["beta_1"], train["beta_2"],
                          train.get("mixed_precision") == "mixed_float16")


@keras.saving.register_keras_serializable(package="keras_gans")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """base_lr until total_steps - decay_steps, then linearly down to exactly 0 at total_steps (the end of the
    last epoch), and 0 after it. decay_steps = 0 keeps the rate constant."""

    def __init__(self, base_lr: float, total_steps: int, decay_steps: int):
        self.base_lr = float(base_lr)
        self.total_steps = int(total_steps)
        self.decay_steps = int(decay_steps)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        base = tf.constant(self.base_lr, tf.float32)
        if self.decay_steps <= 0:
            return base
        frac = (float(self.total_steps) - step) / float(self.decay_steps)
        return base * tf.clip_by_value(frac, 0.0, 1.0)

    def get_config(self):
        return {"base_lr": self.base_lr, "total_steps": self.total_steps, "decay_steps": self.decay_steps}
