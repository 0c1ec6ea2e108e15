"""ONNX and LiteRT files beside a SavedModel export (`export --format onnx|litert`), written by Keras 3's own
exporters (`model.export(format="onnx")`: tf2onnx; `format="litert"`: the TFLite converter).

They convert the export's own serving function, not the run: the SavedModel signature is wrapped as a Keras layer
(`keras.layers.TFSMLayer`), so the same code converts a fresh export and an export without its run (the shipped
models), and the file computes what TF Serving serves. Which signature: a generator's `serving_default`
(z [+ conditions] -> images uint8); a CycleGAN's tensor directions (`a2b`, `b2a`), at the export's working size
(`directions` says it; the SavedModel's resizing to and from other sizes is left to the caller). Files are named
after the signature: VERSION/serving_default.onnx, VERSION/b2a.tflite. Each file is checked before it is kept: a
probe batch through ONNX Runtime / the LiteRT interpreter must give the SavedModel's pixels within 1 (of 255);
otherwise nothing is written and the error says why.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from keras_gans.core.errors import UserError

FORMATS = {"onnx": ".onnx", "litert": ".tflite"}
NEEDS = {"onnx": ("tf2onnx", "onnxruntime"), "litert": ("ai_edge_litert",)}
TOLERANCE = 1  # uint8 levels: float rounding differs between runtimes, never more


def convertible(signatures) -> dict[str, dict]:
    """{signature: {input name: (shape, dtype)}} for the signatures a format file is made of (see the module doc)."""
    from keras_gans.export.savedmodel import read_json_signature

    out = {}
    if "serving_default" in signatures and "z" in signatures["serving_default"].structured_input_signature[1]:
        names = ["serving_default"]
    else:
        names = [d for d in ("a2b", "b2a") if d in signatures]
    size = None
    if names and names[0] != "serving_default":
        size = int((read_json_signature(signatures, "directions") or {}).get("image_size", 0)) or None
        if size is None:
            raise UserError("a CycleGAN export without its `directions` signature: its working size is unknown")
    for name in names:
        specs = signatures[name].structured_input_signature[1]
        shapes = {}
        for key, spec in specs.items():
            shape = list(spec.shape)
            if size is not None and len(shape) == 4:
                shape[1] = shape[2] = size
            shapes[key] = (shape, spec.dtype)
        out[name] = shapes
    if not out:
        raise UserError("the export has no signature to convert (a generator's serving_default with z, or a "
                        "CycleGAN's a2b/b2a)")
    return out


def write_formats(version_dir: str | Path, formats) -> list[Path]:
    """Write each format's files into the export's version folder; returns the paths written."""
    import tensorflow as tf

    version_dir = Path(version_dir)
    for fmt in formats:
        missing = [m for m in NEEDS[fmt] if not _importable(m)]
        if missing:
            raise UserError(f"--format {fmt} needs {', '.join(missing)}: pip install -e \".[{fmt}]\"")
    signatures = tf.saved_model.load(str(version_dir)).signatures
    written = []
    for name, shapes in convertible(signatures).items():
        for fmt in formats:
            path = version_dir / f"{name}{FORMATS[fmt]}"
            tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}{FORMATS[fmt]}")
            try:
                _convert(version_dir, name, shapes, fmt, tmp)
                worst = parity(signatures[name], shapes, tmp, fmt)
                if worst > TOLERANCE:
                    raise UserError(f"{fmt} file of `{name}` differs from the SavedModel by {worst} levels (> {TOLERANCE})")
                os.replace(tmp, path)
            except UserError:
                raise
            except Exception as e:  # a converter or runtime that cannot take this graph: say which, keep nothing
                raise UserError(f"--format {fmt} cannot convert `{name}`: {_first_line(e)}") from None
            finally:
                tmp.unlink(missing_ok=True)
            written.append(path)
    return written


def output_name(inputs) -> str:
    """`images` for a generator; `translated` for a translator, whose input is already called images."""
    return "translated" if "images" in inputs else "images"


def _convert(version_dir: Path, name: str, shapes: dict, fmt: str, path: Path):
    """Keras's own exporter over the SavedModel's `name` signature wrapped as a layer."""
    import keras
    import tensorflow as tf

    order = sorted(shapes)
    out_key = next(iter(tf.saved_model.load(str(version_dir)).signatures[name].structured_outputs))
    out_name = output_name(shapes)

    class Signature(keras.layers.TFSMLayer):
        """One SavedModel signature as a Keras layer: inputs in `order` -> {out_name: its output}."""

        def call(self, inputs, training=False):
            fn = self._reloaded_obj.signatures[name]
            return {out_name: fn(**dict(zip(order, inputs)))[out_key]}

    class Wrapper(keras.Model):
        def __init__(self, layer):
            super().__init__()
            self.signature = layer

        def call(self, inputs):
            return self.signature(inputs)

    model = Wrapper(Signature(str(version_dir), call_endpoint=name))
    model([tf.zeros([1 if d is None else d for d in shapes[k][0]], shapes[k][1]) for k in order])  # built
    specs = [[tf.TensorSpec(shapes[k][0], shapes[k][1], name=k) for k in order]]
    kwargs = {"opset_version": ONNX_OPSET} if fmt == "onnx" else {}
    if fmt == "onnx":
        _register_antialiased_resize()
    with warnings.catch_warnings():  # Keras' numpy-2 patch of tf2onnx touches np.object: not the user's concern
        warnings.simplefilter("ignore", FutureWarning)
        model.export(str(path), format=fmt, input_signature=specs, verbose=False, **kwargs)


ONNX_OPSET = 18  # the first with Resize(antialias=1)
_REGISTERED = []


def _register_antialiased_resize():
    """Teach tf2onnx (1.17 has no handler) TensorFlow's antialiased resize, `ScaleAndTranslate` with the triangle
    kernel (tf.image.resize(..., antialias=True), how a CycleGAN export resizes a photo to its working size and
    back): ONNX Resize, linear, half-pixel centres, antialias=1. A file converted at the working size never runs it
    (the export resizes only other sizes), but ONNX Runtime refuses a graph holding an op it does not know."""
    if _REGISTERED:
        return
    from onnx import TensorProto
    from tf2onnx import constants, utils
    from tf2onnx.handler import tf_op

    @tf_op("ScaleAndTranslate")
    class ScaleAndTranslate:  # noqa: F841  (registered by the decorator)
        @classmethod
        def version_18(cls, ctx, node, **kwargs):
            nchw = ctx.make_node("Transpose", [node.input[0]], {"perm": constants.NHWC_TO_NCHW})
            zero = ctx.make_const(utils.make_name("zero"), np.array([0], np.int64))
            two = ctx.make_const(utils.make_name("two"), np.array([2], np.int64))
            roi = ctx.make_const(utils.make_name("roi"), np.array([], np.float32))
            no_scales = ctx.make_const(utils.make_name("scales"), np.array([], np.float32))
            batch_channels = ctx.make_node("Slice", [ctx.make_node("Shape", [nchw.output[0]]).output[0],
                                                     zero.output[0], two.output[0]])
            size = ctx.make_node("Cast", [node.input[1]], attr={"to": TensorProto.INT64})
            sizes = ctx.make_node("Concat", [batch_channels.output[0], size.output[0]], {"axis": 0})
            resize = ctx.make_node("Resize", [nchw.output[0], roi.output[0], no_scales.output[0], sizes.output[0]],
                                   attr={"mode": "linear", "coordinate_transformation_mode": "half_pixel",
                                         "antialias": 1})
            shapes, dtypes = node.output_shapes, node.output_dtypes
            ctx.remove_node(node.name)
            ctx.make_node("Transpose", resize.output, {"perm": constants.NCHW_TO_NHWC}, name=node.name,
                          outputs=node.output, shapes=shapes, dtypes=dtypes)

    _REGISTERED.append(ScaleAndTranslate)


def probe_inputs(shapes: dict, n: int = 2) -> dict[str, np.ndarray]:
    """A small batch for every input: z ~ N(0, 1), class 1 of every softmax condition, label sets of 0/1, photos of
    random pixels (the same arrays every time)."""
    rng = np.random.default_rng(0)
    out = {}
    for key, (shape, dtype) in shapes.items():
        shape = [n] + [int(d) for d in shape[1:]]
        if dtype.name == "uint8":
            out[key] = rng.integers(0, 256, shape, dtype=np.uint8)
        elif dtype.is_integer:
            out[key] = np.ones(shape, dtype.as_numpy_dtype)
        elif key == "z":
            out[key] = rng.normal(size=shape).astype(dtype.as_numpy_dtype)
        else:
            out[key] = (rng.random(shape) < 0.5).astype(dtype.as_numpy_dtype)
    return out


def run_file(path: str | Path, fmt: str, inputs: dict) -> np.ndarray:
    """The output of a format file on named numpy inputs (ONNX Runtime, or the LiteRT interpreter)."""
    if fmt == "onnx":
        import onnxruntime as ort

        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return sess.run(None, {i.name: inputs[i.name] for i in sess.get_inputs()})[0]
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(path)).get_signature_runner()
    out = runner(**inputs)
    return next(iter(out.values()))


def parity(signature, shapes: dict, path: Path, fmt: str) -> int:
    """The largest pixel difference (uint8 levels) between the file and the SavedModel signature on probe_inputs."""
    import tensorflow as tf

    inputs = probe_inputs(shapes)
    want = next(iter(signature(**{k: tf.constant(v) for k, v in inputs.items()}).values())).numpy()
    got = run_file(path, fmt, inputs)
    if got.shape != want.shape or got.dtype != want.dtype:
        return 255
    return int(np.abs(got.astype(int) - want.astype(int)).max())


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _first_line(e: Exception) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text[:400]}"
