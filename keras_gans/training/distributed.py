"""Training where Keras `fit` cannot serve: MultiWorkerMirroredStrategy (TF_CONFIG, several processes/machines).

Keras 3's `fit` fails under MultiWorkerMirroredStrategy even for a plain Sequential model (see
../shared/NOTES-keras3.md). `fit_distributed` drives the *same* `model.train_step` with `strategy.run` inside one
`tf.function` per step and calls the *same* callbacks through `keras.callbacks.CallbackList` (batch and epoch
hooks, `stop_training`, a `History`), so sample grids, CSV logs, the watchdog, checkpoints and exports behave as
under `fit`; training/driver.py builds the callbacks chief-aware (only the chief writes grids, logs and exports; every
worker saves its checkpoint, the non-chief ones to a scratch folder, as tf.distribute requires).

Input: every worker builds the same global-batch stream (its order depends only on seed and epoch) and keeps its
own replicas' rows, so the replicas together see exactly the global batch the default strategy would train on.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def replica_order(dataset: tf.data.Dataset, replicas: int, parts: int) -> tf.data.Dataset:
    """Reorder each global batch so that contiguous per-replica chunks hold, for every one of the `parts` slices
    the train step cuts its batch into (D steps), that replica's share of that slice.

    With one replica, or one part, the batch is unchanged. Without it, D update i on replica r would see rows of
    another slice than under the default strategy (the training would still be sound, but not identical)."""
    if replicas <= 1 or parts <= 1:
        return dataset

    def reorder(batch):
        out = {}
        for k, v in batch.items():
            shape = tf.shape(v)
            x = tf.reshape(v, tf.concat([[parts, replicas, shape[0] // (parts * replicas)], shape[1:]], 0))
            perm = [1, 0] + list(range(2, len(v.shape) + 2))
            out[k] = tf.reshape(tf.transpose(x, perm), shape)
        return out

    return dataset.map(reorder, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def distribute_dataset(strategy, dataset: tf.data.Dataset):
    """Per-replica batches for `strategy.run`: worker w keeps rows of its local replicas from each global batch."""

    def fn(ctx: tf.distribute.InputContext):
        n_pipes, pipe = ctx.num_input_pipelines, ctx.input_pipeline_id
        local = ctx.num_replicas_in_sync // n_pipes

        def take(batch):
            out = {}
            for k, v in batch.items():
                per_pipe = tf.shape(v)[0] // n_pipes
                out[k] = v[pipe * per_pipe : (pipe + 1) * per_pipe]
            return out

        ds = dataset.map(take)
        if local > 1:  # successive elements go to successive local replicas
            ds = ds.unbatch().batch(ctx.get_per_replica_batch_size(_global_batch(dataset)), drop_remainder=True)
        return ds.prefetch(tf.data.AUTOTUNE)

    options = tf.distribute.InputOptions(experimental_fetch_to_device=False)
    return strategy.distribute_datasets_from_function(fn, options)


def _global_batch(dataset) -> int:
    spec = next(iter(dataset.element_spec.values()))
    return int(spec.shape[0])


def _local(strategy, value):
    """This worker's first replica's copy (every replica holds the same, cross-replica-summed tracker values)."""
    return strategy.experimental_local_results(value)[0]


def fit_distributed(model, strategy, dataset, epochs: int, initial_epoch: int, steps_per_epoch: int, callbacks,
                    verbose=0):
    """A `fit` for strategies where Keras' own cannot run. Returns a keras.callbacks.History like `fit`."""
    import keras

    history = keras.callbacks.History()
    cbl = keras.callbacks.CallbackList(
        list(callbacks) + [history], add_history=False, add_progbar=bool(verbose), model=model, verbose=verbose,
        epochs=epochs, steps=steps_per_epoch,
    )
    iterator = iter(distribute_dataset(strategy, dataset))

    @tf.function
    def train_step(it):
        outputs = strategy.run(model.train_step, args=(next(it),))
        return {k: _local(strategy, v) for k, v in outputs.items()}

    model.stop_training = False
    cbl.on_train_begin()
    logs: dict = {}
    for epoch in range(initial_epoch, epochs):
        model.reset_metrics()
        cbl.on_epoch_begin(epoch)
        for step in range(steps_per_epoch):
            cbl.on_train_batch_begin(step)
            logs = {k: float(np.asarray(v)) for k, v in train_step(iterator).items()}
            cbl.on_train_batch_end(step, logs)
            if model.stop_training:
                break
        epoch_logs = dict(logs)
        cbl.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    cbl.on_train_end(logs)
    return history


def partial_fit(model, strategy):
    """`fit_distributed` with the signature of `model.fit` (dataset first, keyword arguments), for training/driver.py."""

    def fit(dataset, epochs, initial_epoch=0, steps_per_epoch=None, callbacks=(), verbose=0):
        return fit_distributed(model, strategy, dataset, epochs, initial_epoch, steps_per_epoch, callbacks, verbose)

    return fit
