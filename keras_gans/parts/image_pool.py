"""The image history pool (Shrivastava et al. 2017), as CycleGAN's D uses it: D also sees fakes G made a while
ago, so it does not chase only G's newest output. A pure TensorFlow function over a pool variable; the random
draws come from the caller (the core's stateless noise), so a resumed run replays the same choices."""

from __future__ import annotations

import tensorflow as tf


def pool_query(pool, count, images, u_swap, u_index):
    """The CycleGAN image pool, one image at a time: while the pool is not full each image is stored and returned;
    once full, with probability 0.5 (u_swap > 0.5) a random stored image (slot floor(u_index * size)) is returned
    and replaced by the new one, else the new image is returned. pool: variable [size, H, W, C]; count: int64
    variable (images stored so far, capped at size); u_swap, u_index: uniform [0, 1) draws, one per image."""
    size = int(pool.shape[0])
    images = tf.cast(images, pool.dtype)
    b = tf.shape(images)[0]

    def body(i, out):
        img = images[i]
        n = tf.convert_to_tensor(count)

        def store():
            pool.assign(tf.tensor_scatter_nd_update(tf.convert_to_tensor(pool), tf.reshape(n, [1, 1]), img[None]))
            count.assign_add(1)
            return tf.identity(img)

        def swap():
            j = tf.minimum(tf.cast(u_index[i] * size, tf.int64), size - 1)
            current = tf.convert_to_tensor(pool)
            old = tf.gather(current, j)
            with tf.control_dependencies([old]):
                pool.assign(tf.tensor_scatter_nd_update(current, tf.reshape(j, [1, 1]), img[None]))
            return tf.identity(old)

        def keep_or_swap():
            return tf.cond(u_swap[i] > 0.5, swap, lambda: tf.identity(img))

        res = tf.cond(n < size, store, keep_or_swap)
        return i + 1, out.write(i, res)

    out = tf.TensorArray(pool.dtype, size=b, element_shape=images.shape[1:])
    _, out = tf.while_loop(lambda i, _: i < b, body, [tf.constant(0), out])
    result = out.stack()
    result.set_shape(images.shape)
    return result
