"""TF Serving's REST API for the tests: the JSON rules of tensorflow_serving/util/json_tensor.cc (request decoding,
response encoding) over a SavedModel's SignatureDefs, and a small HTTP server speaking them, so a test can send
the requests a REST client sends, to this emulator or (KERAS_GANS_TF_SERVING=http://host:8501) to a real
`tensorflow/serving`. Run as a script it serves exports:

    python tests/tf_serving_rest.py --port 8501 acgan=saved_models/acgan ukiyoe=saved_models/ukiyoe

The rules, as json_tensor.cc has them (TF Serving 2.x):
- request: a JSON object; `signature_name` (a string, default `serving_default`); exactly one of `instances`
  (row form: a non-empty list; plain values when the signature has one input, else one object per row with exactly
  the input names as keys; the rows are stacked along a new dimension 0, so every row of an input has one shape)
  or `inputs` (columnar: one value for a one-input signature, else an object holding every input by name; each is
  a whole tensor). A signature without inputs is refused ("Failed to get input map for signature").
- values: nested lists as deep as the tensor's rank, each list as long as its first sibling; float inputs take any
  number that is lossless as float32; int8/16/32/uint8 take JSON integers in int32 range (1.0 is refused), int64
  integers, bool true/false; string inputs take JSON strings or {"b64": "..."} (base64-decoded).
- response, row form: {"predictions": [...]}: every output needs a dimension 0 ("has no shape information"
  otherwise) and the same one ("inconsistent batch size"); one output: a list of its rows, several: a list of
  objects by output name. Columnar: {"outputs": value} or {"outputs": {name: value}}, scalars allowed.
  Strings: outputs whose name ends in `_bytes` as {"b64": ...}, others as JSON strings. Floats: shortest form that
  reads back as the same float32 (else 9 digits), whole numbers with ".0".
- errors: HTTP 400 with {"error": "..."}.
The model metadata (GET /v1/models/NAME/metadata) is the SignatureDefMap as JSON, as TF Serving returns it.
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import numpy as np

INT32_KINDS = ("DT_INT32", "DT_INT16", "DT_INT8", "DT_UINT8")
NUMPY = {"DT_FLOAT": np.float32, "DT_DOUBLE": np.float64, "DT_INT32": np.int32, "DT_INT16": np.int16,
         "DT_INT8": np.int8, "DT_UINT8": np.uint8, "DT_INT64": np.int64, "DT_BOOL": np.bool_, "DT_STRING": object}


class RestError(ValueError):
    """A request TF Serving answers with HTTP 400 {"error": message}."""


# ----- the SavedModel's signatures, as TF Serving reads them ---------------------------------------------------------
def signature_defs(version_dir) -> dict:
    """{name: {'inputs': {key: (dtype name, [dims, -1 unknown] or None)}, 'outputs': {...}}} from saved_model.pb."""
    from tensorflow.core.framework import types_pb2
    from tensorflow.core.protobuf import saved_model_pb2

    sm = saved_model_pb2.SavedModel()
    sm.ParseFromString((Path(version_dir) / "saved_model.pb").read_bytes())
    out = {}
    for name, sig in sm.meta_graphs[0].signature_def.items():
        if name == "__saved_model_init_op":
            continue

        def info(m):
            return {k: (types_pb2.DataType.Name(v.dtype),
                        None if v.tensor_shape.unknown_rank else [d.size for d in v.tensor_shape.dim])
                    for k, v in m.items()}

        out[name] = {"inputs": info(sig.inputs), "outputs": info(sig.outputs)}
    return out


def metadata(version_dir, name: str, version: str) -> dict:
    """GET /v1/models/NAME/metadata, as TF Serving answers it (the SignatureDefMap in protobuf's JSON form)."""
    from google.protobuf import json_format
    from tensorflow.core.protobuf import saved_model_pb2

    sm = saved_model_pb2.SavedModel()
    sm.ParseFromString((Path(version_dir) / "saved_model.pb").read_bytes())
    sigs = {k: json_format.MessageToDict(v) for k, v in sm.meta_graphs[0].signature_def.items()}
    return {"model_spec": {"name": name, "signature_name": "", "version": str(version)},
            "metadata": {"signature_def": {"signature_def": sigs}}}


def rest_problems(defs: dict) -> list[str]:
    """What in the SignatureDefs TF Serving's REST API refuses (no inputs; an output without dimension 0) or
    cannot batch (an input whose dimension 0 is fixed)."""
    problems = []
    for name, sig in sorted(defs.items()):
        if not sig["inputs"]:
            problems.append(f"{name}: Failed to get input map for signature: {name}")
        for key, (_, dims) in sorted(sig["inputs"].items()):
            if not dims or dims[0] != -1:
                problems.append(f"{name}: input {key} {dims} is not batched")
        for key, (_, dims) in sorted(sig["outputs"].items()):
            if dims is None or len(dims) == 0:
                problems.append(f"{name}: Tensor name: {key} has no shape information")
            elif dims[0] != -1:
                problems.append(f"{name}: output {key} {dims} has a fixed dimension 0")
    return problems


# ----- requests ------------------------------------------------------------------------------------------------------
def _is_b64(v) -> bool:
    return isinstance(v, dict) and len(v) == 1 and isinstance(v.get("b64"), str)


def _shape(v) -> list[int]:
    shape = []
    while isinstance(v, list):
        shape.append(len(v))
        if not v:
            break
        v = v[0]
    return shape


def _leaf(v, dtype: str):
    if _is_b64(v) or isinstance(v, dict):
        if dtype != "DT_STRING" or not _is_b64(v):
            raise RestError(f"JSON Value: {json.dumps(v)} Type: Object is not of expected type: {dtype}")
        try:
            return base64.b64decode(v["b64"], validate=True)
        except ValueError:
            raise RestError("Unable to base64 decode") from None
    is_int = isinstance(v, int) and not isinstance(v, bool)
    if dtype in ("DT_FLOAT", "DT_DOUBLE"):
        if not (is_int or isinstance(v, float)):
            raise RestError(f"JSON Value: {json.dumps(v)} is not of expected type: {dtype}")
        limit = (1 << 24) - 1 if dtype == "DT_FLOAT" else (1 << 53) - 1
        finite = not isinstance(v, float) or math.isfinite(v)
        if finite and ((is_int and abs(v) > limit) or (not is_int and dtype == "DT_FLOAT" and abs(v) > 3.4028234663852886e38)):
            raise RestError(f"Cannot convert JSON value: {v} to {dtype[3:].lower()} without loss of precision.")
        return v
    if dtype in INT32_KINDS:
        if not is_int or not -(2**31) <= v < 2**31:
            raise RestError(f"JSON Value: {json.dumps(v)} is not of expected type: {dtype}")
        return v
    if dtype == "DT_INT64":
        if not is_int or not -(2**63) <= v < 2**63:
            raise RestError(f"JSON Value: {json.dumps(v)} is not of expected type: {dtype}")
        return v
    if dtype == "DT_BOOL":
        if not isinstance(v, bool):
            raise RestError(f"JSON Value: {json.dumps(v)} is not of expected type: {dtype}")
        return v
    if dtype == "DT_STRING":
        if not isinstance(v, str):
            raise RestError(f"JSON Value: {json.dumps(v)} is not of expected type: {dtype}")
        return v.encode("utf-8")
    raise RestError(f"Conversion of JSON Value: {json.dumps(v)} to type: {dtype}")


def _tensor(value, dtype: str) -> np.ndarray:
    """A JSON value -> a numpy array, by FillTensorProto's rules (leaves at the rank's level, regular lists)."""
    shape = _shape(value)
    flat = []

    def fill(v, level):
        if not isinstance(v, list):
            if level != len(shape):
                raise RestError(f"JSON Value: {json.dumps(v)} found at incorrect level: {level + 1} in the JSON DOM. "
                                f"Expected at level: {len(shape)}")
            flat.append(_leaf(v, dtype))
            return
        if level >= len(shape):
            raise RestError(f"Encountered list at unexpected level: {level} expected < {len(shape)}")
        if len(v) != shape[level]:
            raise RestError(f"Encountered list at unexpected size: {len(v)} at level: {level} expected size: "
                            f"{shape[level]}")
        for x in v:
            fill(x, level + 1)

    fill(value, 0)
    arr = np.empty(len(flat), object) if dtype == "DT_STRING" else np.array(flat, dtype=np.float64 if dtype in (
        "DT_FLOAT", "DT_DOUBLE") else None)
    if dtype == "DT_STRING":
        arr[:] = flat
    return arr.astype(NUMPY[dtype]).reshape(shape)


def decode_request(body: bytes | str, defs: dict):
    """(signature name, {input: numpy array}, 'row' | 'columnar') for a predict request, or RestError."""
    try:
        doc = json.loads(body)
    except ValueError as e:
        raise RestError(f"JSON Parse error: {e}") from None
    if not isinstance(doc, dict):
        raise RestError("JSON Value: ... Is not object")
    name = doc.get("signature_name", "serving_default")
    if not isinstance(name, str):
        raise RestError("'signature_name' key must be a string value.")
    name = name or "serving_default"
    if name not in defs:
        raise RestError(f"Serving signature name: \"{name}\" not found in signature def")
    inputs = defs[name]["inputs"]
    if not inputs:
        raise RestError(f"Failed to get input map for signature: {name}")
    if "instances" in doc and "inputs" in doc:
        raise RestError("Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist")
    if "instances" in doc:
        rows = doc["instances"]
        if not isinstance(rows, list):
            raise RestError("Excepting 'instances' to be an list/array")
        if not rows:
            raise RestError("No values in 'instances' array")
        objects = isinstance(rows[0], dict) and not _is_b64(rows[0])
        if not isinstance(rows[0], dict) and len(inputs) > 1:
            raise RestError("instances is a plain list, but expecting list of objects as multiple input tensors "
                            "required as per tensorinfo_map")
        columns = {k: [] for k in inputs}
        for i, row in enumerate(rows):
            row_is_object = isinstance(row, dict) and not _is_b64(row)
            if objects != row_is_object:
                raise RestError(f"Expecting {'object' if objects else 'value/list'} but got "
                                f"{'list' if objects else 'object'} at item {i} of input list")
            items = row if objects else {next(iter(inputs)): row}
            for key, value in items.items():
                if key not in inputs:
                    raise RestError(f"JSON object: does not have named input: {key}")
                t = _tensor(value, inputs[key][0])
                if columns[key] and columns[key][0].shape != t.shape:
                    raise RestError(f"Expecting shape {list(columns[key][0].shape)} but got: {list(t.shape)}")
                columns[key].append(t)
            if set(items) != set(inputs):
                raise RestError(f"Failed to process element: {i} of 'instances' list. keys must be equal to: "
                                f"{','.join(sorted(inputs))}")
        return name, {k: np.stack(v) for k, v in columns.items()}, "row"
    if "inputs" in doc:
        value = doc["inputs"]
        if not isinstance(value, dict) or _is_b64(value):
            if len(inputs) > 1:
                raise RestError("inputs is a plain value/list, but expecting an object as multiple input tensors "
                                "required as per tensorinfo_map")
            key = next(iter(inputs))
            return name, {key: _tensor(value, inputs[key][0])}, "columnar"
        out = {}
        for key, (dtype, _) in inputs.items():
            if key not in value:
                raise RestError(f"Missing named input: {key} in 'inputs' object.")
            out[key] = _tensor(value[key], dtype)
        return name, out, "columnar"
    raise RestError("Missing 'inputs' or 'instances' key")


# ----- responses -----------------------------------------------------------------------------------------------------
def _decimal(v: float, single: bool) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "-Infinity" if v < 0 else "Infinity"
    text = f"{v:g}"
    cast = np.float32 if single else np.float64
    if cast(float(text)) != cast(v):
        text = f"{v:.{9 if single else 17}g}"
    if "." not in text and "e" not in text:
        text += ".0"
    return text


def _write(arr, as_bytes: bool) -> str:
    arr = arr if isinstance(arr, np.ndarray) else np.array(arr, dtype=object if isinstance(arr, bytes) else None)
    if arr.ndim == 0:
        v = arr.item()
        if arr.dtype == object or isinstance(v, bytes):
            if as_bytes:
                return json.dumps({"b64": base64.b64encode(v).decode("ascii")})
            return json.dumps(v.decode("utf-8", errors="replace"))
        if arr.dtype.kind == "f":
            return _decimal(float(v), arr.dtype == np.float32)
        if arr.dtype.kind == "b":
            return "true" if v else "false"
        return str(int(v))
    return "[" + ",".join(_write(x, as_bytes) for x in arr) + "]"


def encode_response(outputs: dict, form: str) -> str:
    """The JSON body TF Serving answers for `outputs` ({name: numpy array}), or RestError (row form rules)."""
    if not outputs:
        raise RestError("Cannot convert empty tensor map to JSON")
    names = sorted(outputs)
    arrays = {k: np.asarray(outputs[k]) for k in names}
    as_bytes = {k: arrays[k].dtype == object and k.endswith("_bytes") for k in names}
    if form == "columnar":
        if len(names) == 1:
            return '{"outputs": ' + _write(arrays[names[0]], as_bytes[names[0]]) + "}"
        return '{"outputs": {' + ",".join(f"{json.dumps(k)}: {_write(arrays[k], as_bytes[k])}" for k in names) + "}}"
    batch = None
    for k in names:
        if arrays[k].ndim == 0:
            raise RestError(f"Tensor name: {k} has no shape information ")
        if batch is not None and arrays[k].shape[0] != batch:
            raise RestError(f"Tensor name: {k} has inconsistent batch size: {arrays[k].shape[0]} expecting: {batch}")
        batch = arrays[k].shape[0]
    rows = []
    for i in range(batch):
        if len(names) == 1:
            rows.append(_write(arrays[names[0]][i], as_bytes[names[0]]))
        else:
            rows.append("{" + ",".join(f"{json.dumps(k)}: {_write(arrays[k][i], as_bytes[k])}" for k in names) + "}")
    return '{"predictions": [' + ",".join(rows) + "]}"


# ----- the server ----------------------------------------------------------------------------------------------------
def newest_version(base: Path) -> Path:
    base = Path(base)
    if (base / "saved_model.pb").is_file():
        return base
    versions = sorted((int(p.name) for p in base.iterdir() if p.name.isdigit() and (p / "saved_model.pb").is_file()))
    return base / str(versions[-1])


def serve(models: dict, port: int):
    """TF Serving's REST endpoints over {name: export base or version folder}, until killed."""
    import re
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import tensorflow as tf

    served = {}
    for name, base in models.items():
        version = newest_version(base)
        served[name] = (version, tf.saved_model.load(str(version)), signature_defs(version))

    class Handler(BaseHTTPRequestHandler):
        def _send(self, code: int, text: str):
            data = text.encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _model(self, path: str):
            m = re.fullmatch(r"/v1/models/([^/:]+)(?:/versions/(\d+))?(/metadata|:predict)?", path)
            if not m or m.group(1) not in served:
                return None, None
            version, _, _ = served[m.group(1)]
            if m.group(2) and m.group(2) != version.name:
                return None, None
            return m.group(1), m.group(3) or ""

        def do_GET(self):
            name, what = self._model(self.path)
            if name is None:
                return self._send(404, json.dumps({"error": f"Servable not found for request: {self.path}"}))
            version = served[name][0]
            if what == "/metadata":
                return self._send(200, json.dumps(metadata(version, name, version.name)))
            return self._send(200, json.dumps({"model_version_status": [
                {"version": version.name, "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}))

        def do_POST(self):
            name, what = self._model(self.path)
            if name is None or what != ":predict":
                return self._send(404, json.dumps({"error": f"Servable not found for request: {self.path}"}))
            _, loaded, defs = served[name]
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                sig, inputs, form = decode_request(body, defs)
                fn = loaded.signatures[sig]
                try:
                    out = fn(**{k: tf.constant(v, dtype=fn.structured_input_signature[1][k].dtype)
                                for k, v in inputs.items()})
                except (tf.errors.OpError, ValueError, TypeError) as e:
                    raise RestError(" ".join(str(e).split())[:500]) from None
                return self._send(200, encode_response({k: v.numpy() for k, v in out.items()}, form))
            except RestError as e:
                return self._send(400, json.dumps({"error": str(e)}))

        def log_message(self, *args):  # quiet: the test reads stdout for the port only
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"serving on {httpd.server_address[1]}", flush=True)
    httpd.serve_forever()


def main():
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=8501, help="0: any free port (printed)")
    ap.add_argument("models", nargs="+", metavar="NAME=PATH")
    args = ap.parse_args()
    serve(dict(m.split("=", 1) for m in args.models), args.port)


if __name__ == "__main__":
    main()
