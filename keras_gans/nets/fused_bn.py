"""BatchNormalization that trains through TensorFlow's fused kernel (FusedBatchNormV3) on 4-D NHWC inputs.

Keras 3's BatchNormalization computes training statistics with separate reduce ops (mean, variance, normalise)
and differentiates through each of them; the fused op does the forward pass in one kernel and the backward pass
in one more (oneDNN's on CPU), as PyTorch's BatchNorm2d does. Same variables, same moving-average rule (biased
batch variance, Keras momentum), so checkpoints and exports are unchanged; everything else (inference, masks,
synchronized replicas, other ranks or backends) is Keras' own code. Measured in docs/speed.md.
"""

from __future__ import annotations

import keras
from keras import layers


@keras.saving.register_keras_serializable(package="keras_gans")
class FusedBatchNormalization(layers.BatchNormalization):
    def _fusable(self, inputs, training, mask) -> bool:
        return (
            bool(training) and self.trainable and mask is None and not self.synchronized
            and keras.backend.backend() == "tensorflow" and len(inputs.shape) == 4 and self.axis in (-1, 3)
            and self.center and self.scale and not getattr(self, "renorm", False)
        )

    def call(self, inputs, training=None, mask=None):
        if not self._fusable(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        x = inputs if inputs.dtype in (tf.float32, tf.bfloat16) else tf.cast(inputs, tf.float32)
        y, mean, var = tf.compat.v1.nn.fused_batch_norm(
            x, tf.cast(self.gamma.value, tf.float32), tf.cast(self.beta.value, tf.float32),
            epsilon=self.epsilon, is_training=True,
        )
        # The op returns the Bessel-corrected variance for running averages; Keras averages the biased one.
        n = tf.cast(tf.size(x) // tf.shape(x)[-1], tf.float32)
        var = var * ((n - 1.0) / tf.maximum(n, 1.0))
        m = self.momentum
        self.moving_mean.assign(self.moving_mean * m + mean * (1.0 - m))
        self.moving_variance.assign(self.moving_variance * m + var * (1.0 - m))
        return tf.cast(y, self.compute_dtype)
