"""tf.data pipelines for training: an endless stream of batches whose order depends only on (seed, epoch).

Because epoch e's permutation is drawn from a generator seeded by (seed, e), a run resumed at epoch e sees
exactly the batches an uninterrupted run would have seen. Batches are gathered from the decoded uint8 arrays
(cheap numpy indexing, through `tf.numpy_function` on a counter, never `Dataset.from_generator`: see
make_train_dataset), scaled to [-1, 1] in TensorFlow, and prefetched so the next batch is ready when a train step
ends.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf



def epoch_batches(n: int, batch: int, steps: int, seed: int, epoch: int) -> list[np.ndarray]:
    """Index batches of one epoch: a permutation seeded by (seed, epoch), cut into `steps` batches."""
    rng = np.random.default_rng([int(seed) & 0x7FFFFFFF, int(epoch)])
    perm = rng.permutation(n)
    need = batch * steps
    if need > n:  # tiny data sets: wrap around
        perm = np.concatenate([perm] * (need // n + 1))
    return [perm[i * batch : (i + 1) * batch] for i in range(steps)]


def make_train_dataset(
    arrays: dict[str, np.ndarray],
    batch_size: int,
    steps: int,
    seed: int = 0,
    start_epoch: int = 0,
    flip: bool = False,
    image_keys: tuple[str, ...] = ("image",),
) -> tf.data.Dataset:
    """Endless dataset of dict batches {key: [batch, ...]}; uint8 image keys become float32 in [-1, 1].

    `arrays` maps names to equally long arrays (images and any labels). Keys listed in image_keys are images.
    For unpaired domains (CycleGAN) pass each domain under its own key with its own length: each key is
    permuted independently.
    """
    lengths = {k: len(v) for k, v in arrays.items()}
    paired = len(set(lengths.values())) == 1
    keys = list(arrays)
    plans: dict[int, dict] = {}  # epoch -> {key: index batches}; the current epoch (and at most one more)

    def plan(epoch: int) -> dict:
        if epoch not in plans:
            if paired:
                batches = epoch_batches(next(iter(lengths.values())), batch_size, steps, seed, epoch)
                new = {k: batches for k in arrays}
            else:
                new = {k: epoch_batches(lengths[k], batch_size, steps, seed + 7919 * j, epoch)
                       for j, k in enumerate(sorted(arrays))}
            for old in [e for e in plans if e < epoch]:
                del plans[old]
            plans[epoch] = new
        return plans[epoch]

    def take(i):
        """Batch number i of the stream (counted from start_epoch): numpy gathers from the uint8 arrays."""
        epoch, s = start_epoch + int(i) // steps, int(i) % steps
        p = plan(epoch)
        out = _take(arrays, {k: p[k][s] for k in arrays}, flip, image_keys, seed, epoch)
        return tuple(out[k] for k in keys)

    dtypes = [tf.as_dtype(arrays[k].dtype) for k in keys]

    def load(i):
        values = tf.numpy_function(take, [i], dtypes, stateful=False)
        return {k: tf.ensure_shape(v, (batch_size,) + arrays[k].shape[1:]) for k, v in zip(keys, values)}

    # Not Dataset.from_generator: TensorFlow's GeneratorDataset calls mallopt(M_MMAP_THRESHOLD, 128 KiB) for the
    # whole process (its Python 3.11 memory patch), which turns off glibc's adaptive threshold: every buffer over
    # 128 KiB (oneDNN's reorders, the step's temporaries) is then mmap'd and unmapped on every step, ~48,000 page
    # faults per DCGAN step, a fifth of the CPU time in the kernel on AVX2 (docs/speed.md). A counter mapped
    # through numpy_function yields the same batches without that op.
    ds = tf.data.Dataset.counter().map(load)

    def scale(batch):
        return {k: (tf.cast(v, tf.float32) / 127.5 - 1.0) if k in image_keys else v for k, v in batch.items()}

    ds = ds.map(scale, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)


def _take(arrays, idx, flip, image_keys, seed, epoch):
    out = {}
    for k, v in arrays.items():
        b = v[idx[k]]
        if flip and k in image_keys:
            rng = np.random.default_rng([int(seed) & 0x7FFFFFFF, int(epoch), int(idx[k][0])])
            mask = rng.random(len(b)) < 0.5
            b = b.copy()
            b[mask] = b[mask, :, ::-1]
        out[k] = b
    return out
