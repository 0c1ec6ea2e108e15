"""The one export builder: the TF Serving signatures every family's export is made of, added to a
`keras.export.ExportArchive`. Three kinds, one function each:

- latent (`add_latent_signatures`): `serving_default(z, <conditions>)` -> images uint8, and
  `generate(seed, <conditions>)` -> images + image_bytes (PNG), z drawn from the seed as `sample --seed` does;
- translator (`add_translator_signatures`): `<direction>` (images uint8 of any size -> the same size) and
  `<direction>_bytes` (image bytes -> PNG bytes), optionally also as `serving_default`;
- json (`add_json_signature`): metadata (`conditions`, `directions`) as `request` int32 [batch] -> `json` string
  [batch], the same JSON text in every row. Batched like every other signature because TF Serving's REST API
  (json_tensor.cc) rejects a signature without inputs ("Failed to get input map") and a scalar output in its row
  form ("has no shape information"); exports written before this took no input (read both with
  keras_gans.export.savedmodel.read_json_signature).

It lives with the models (layer 2) because the families call it from their `export_endpoints` hook; export/savedmodel.py
(layer 3) writes the archive. Closures: tf.function must see only tensor arguments.
"""

from __future__ import annotations

import tensorflow as tf

from keras_gans.core.images import to_uint8_tensor
from keras_gans.models.latent import seeds_to_latent
from keras_gans.parts.translate import transfer_images


def to_png(images_u8):
    """uint8 [batch, H, W, C] -> PNG bytes [batch] (TF Serving's REST API returns them base64-encoded)."""
    return tf.map_fn(tf.io.encode_png, images_u8, fn_output_signature=tf.TensorSpec([], tf.string))


def add_latent_signatures(archive, g, latent_dim: int, z_std: float, conditions: list | tuple = ()):
    """serving_default and generate for generator g; conditions: (name, TensorSpec) pairs G takes besides z, in
    the order the signatures list them (then g is called with a dict {'z': ..., name: ...})."""
    archive.track(g)
    names = [n for n, _ in conditions]
    specs = [s for _, s in conditions]

    def g_inputs(z, labels):
        return {"z": z, **dict(zip(names, labels))} if names else z

    def serving_default(z, *labels):
        return {"images": to_uint8_tensor(g(g_inputs(z, labels), training=False))}

    def generate(seed, *labels):
        z = seeds_to_latent(seed, latent_dim, z_std)
        images = to_uint8_tensor(g(g_inputs(z, labels), training=False))
        return {"images": images, "image_bytes": to_png(images)}

    archive.add_endpoint("serving_default", serving_default,
                         [tf.TensorSpec([None, latent_dim], tf.float32, name="z")] + specs)
    archive.add_endpoint("generate", generate, [tf.TensorSpec([None], tf.int64, name="seed")] + specs)


def add_translator_signatures(archive, g, direction: str, size: int, channels: int, default: bool = False):
    """`direction` (uint8 tensors, any H and W) and `direction_bytes` (image bytes -> PNG bytes) for generator g
    trained at size x size; default=True also serves the bytes version as `serving_default`."""

    def tensor_fn(images):
        return {"images": transfer_images(g, images, size)}

    def bytes_fn(image_bytes):
        def one(data):
            img = tf.io.decode_image(data, channels=channels, expand_animations=False)
            return tf.io.encode_png(transfer_images(g, img[None], size)[0])

        return {"image_bytes": tf.map_fn(one, image_bytes, fn_output_signature=tf.TensorSpec([], tf.string))}

    bytes_spec = [tf.TensorSpec([None], tf.string, name="image_bytes")]
    archive.add_endpoint(direction, tensor_fn, [tf.TensorSpec([None, None, None, channels], tf.uint8, name="images")])
    archive.add_endpoint(f"{direction}_bytes", bytes_fn, bytes_spec)
    if default:
        archive.add_endpoint("serving_default", bytes_fn, bytes_spec)


JSON_INPUT = tf.TensorSpec([None], tf.int32, name="request")  # one row per request; the values are not read


def json_rows(text, request):
    """The JSON text once per row of `request` (string [batch]): the body of every metadata signature."""
    return {"json": tf.fill(tf.shape(request)[:1], tf.constant(text))}


def add_json_signature(archive, name: str, text: str):
    """`name`(request int32 [batch]) -> {'json': string [batch]}: metadata a client (or `sample`) reads from the
    export; a REST client sends `{"signature_name": name, "instances": [0]}`."""
    archive.add_endpoint(name, lambda request: json_rows(text, request), [JSON_INPUT])
