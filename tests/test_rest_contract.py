"""TF Serving's REST contract, spoken to the exports over HTTP: requests in its documented JSON forms (row
`instances`, columnar `inputs`, {"b64": ...}, `signature_name`), answered by tests/tf_serving_rest.py (json_tensor.cc's
rules, in a fresh process), or by a real TF Serving when KERAS_GANS_TF_SERVING=http://host:8501 is set (serving the
shipped exports as `acgan` and `ukiyoe`, docs/training.md has the docker line); tests of the tiny exports made here
run on the emulator only. Also: every signature of the shipped and newly built exports passes the REST rules, an
export of the previous version does not, and `export --upgrade` fixes it with the same pixels."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from conftest import REPO
from tf_serving_rest import RestError, decode_request, encode_response, rest_problems, signature_defs

SERVER = os.environ.get("KERAS_GANS_TF_SERVING", "").rstrip("/")
SHIPPED = REPO / "saved_models"
PHOTOS = REPO.parent / "shared" / "data" / "ukiyoe2photo" / "testB"


# ----- exports and the server ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from demo_exports import make_exports

    return make_exports(tmp_path_factory.mktemp("exports"))


def _old_style(path: Path) -> dict[str, Path]:
    """An export as the previous version wrote it: `conditions` / `directions` without inputs, returning a scalar."""
    import keras_gans.models.conditional as conditional
    import keras_gans.models.translator as translator  # the translator families' export (models/translator.py)
    from demo_exports import make_exports

    def add_json_signature(archive, name, text):  # the previous version's builder, verbatim
        import tensorflow as tf

        value = tf.constant(text)
        archive.add_endpoint(name, lambda: {"json": tf.identity(value)}, [])

    mp = pytest.MonkeyPatch()
    mp.setattr(conditional, "add_json_signature", add_json_signature)
    mp.setattr(translator, "add_json_signature", add_json_signature)
    try:
        return make_exports(path)
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def rest(tiny):
    """(base URL, whether it is the emulator). The emulator runs in a fresh process, as a server would."""
    if SERVER:
        yield SERVER, False
        return
    models = [f"acgan={SHIPPED / 'acgan'}", f"ukiyoe={SHIPPED / 'ukiyoe'}"] + [f"{k}={v}" for k, v in tiny.items()]
    proc = subprocess.Popen([sys.executable, str(REPO / "tests" / "tf_serving_rest.py"), "--port", "0", *models],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO)
    try:
        line = proc.stdout.readline()
        assert line.startswith("serving on "), f"the emulator did not start: {line!r}"
        yield f"http://127.0.0.1:{int(line.split()[-1])}", True
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _call(url: str, body: dict | None = None):
    """(HTTP status, parsed JSON) of a GET (body None) or a POST of body as JSON."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def _model(rest, name: str) -> str:
    base, _ = rest
    url = f"{base}/v1/models/{name}"
    for _ in range(3):
        try:
            status, _ = _call(url)
            break
        except urllib.error.URLError:
            time.sleep(2)
    else:
        pytest.fail(f"no server at {base}")
    if status != 200:
        pytest.skip(f"the server at {base} does not serve `{name}`")
    return url


def _png(b64: dict) -> np.ndarray:
    img = np.asarray(Image.open(io.BytesIO(base64.b64decode(b64["b64"]))))
    return img[..., None] if img.ndim == 2 else img


# ----- the signatures' shapes ------------------------------------------------------------------------------------------
def test_every_signature_of_shipped_and_new_exports_is_rest_servable(tiny):
    import tensorflow as tf

    from keras_gans.export.savedmodel import find_export, rest_problems as package_problems

    for path in [SHIPPED / "acgan", SHIPPED / "ukiyoe", *tiny.values()]:
        version = find_export(path)
        defs = signature_defs(version)
        assert defs and rest_problems(defs) == [], (path, rest_problems(defs))
        assert package_problems(tf.saved_model.load(str(version)).signatures) == []
        for sig in defs.values():  # every output batched along dimension 0 like its inputs
            assert all(dims and dims[0] == -1 for _, dims in sig["outputs"].values())


def test_an_export_of_the_previous_version_is_refused_and_upgrade_fixes_it_with_the_same_pixels(tmp_path):
    """Negative control for the shape check, and `export --upgrade` on a conditional and a CycleGAN export."""
    import tensorflow as tf

    from keras_gans.cli import main
    from keras_gans.export.savedmodel import read_json_signature, rest_problems as package_problems

    olds = _old_style(tmp_path / "old")
    for kind, meta in (("cond", "conditions"), ("cyc", "directions")):
        old = olds[kind] / "1"
        before = tf.saved_model.load(str(old))
        for problems in (rest_problems(signature_defs(old)), package_problems(before.signatures)):
            assert problems and all(p.startswith(f"{meta}:") for p in problems), problems
        res = CliRunner().invoke(main, ["export", "--upgrade", str(old.parent), "--out", str(tmp_path / "up"),
                                        "--name", kind, "--version", "2"])
        assert res.exit_code == 0, res.output
        new_path = tmp_path / "up" / kind / "2"
        after = tf.saved_model.load(str(new_path))
        assert rest_problems(signature_defs(new_path)) == [] and package_problems(after.signatures) == []
        assert sorted(after.signatures) == sorted(before.signatures)
        assert read_json_signature(after.signatures, meta) == read_json_signature(before.signatures, meta)
        assert after.signatures[meta](request=tf.constant([5, 6, 7]))["json"].shape == (3,)
        if kind == "cond":
            kw = {"seed": tf.range(12, dtype=tf.int64), "hair": tf.range(12) % 3, "eyes": tf.range(12) % 2,
                  "objects": tf.cast(tf.random.stateless_uniform([12, 3], [1, 1]) < 0.5, tf.float32),
                  "smiling": tf.ones([12, 1])}
            a, b = before.signatures["generate"](**kw), after.signatures["generate"](**kw)
            np.testing.assert_array_equal(a["images"].numpy(), b["images"].numpy())
            np.testing.assert_array_equal(a["image_bytes"].numpy(), b["image_bytes"].numpy())
            assert a["images"].numpy().std() > 5  # not a blank
        else:
            photo = tf.constant(np.random.default_rng(3).integers(0, 256, (2, 23, 31, 3), dtype=np.uint8))
            for d in ("a2b", "b2a"):
                np.testing.assert_array_equal(before.signatures[d](images=photo)["images"].numpy(),
                                              after.signatures[d](images=photo)["images"].numpy())
    # in place (the default), and the errors: a run given to --upgrade, an export given without it
    res = CliRunner().invoke(main, ["export", "--upgrade", str(olds["cond"])])
    assert res.exit_code == 0 and "batched conditions" in res.output, res.output
    assert rest_problems(signature_defs(olds["cond"] / "1")) == []
    assert sorted(p.name for p in olds["cond"].iterdir()) == ["1"]  # nothing else left behind
    res = CliRunner().invoke(main, ["export", str(olds["cond"])])
    assert res.exit_code == 2 and "--upgrade" in res.output
    res = CliRunner().invoke(main, ["export", "--upgrade", str(tmp_path)])
    assert res.exit_code == 2 and "not one" in res.output


# ----- the JSON rules themselves ----------------------------------------------------------------------------------------
DEFS = {"generate": {"inputs": {"seed": ("DT_INT64", [-1]), "hair": ("DT_INT32", [-1])}, "outputs": {}},
        "b2a_bytes": {"inputs": {"image_bytes": ("DT_STRING", [-1])}, "outputs": {}},
        "serving_default": {"inputs": {"z": ("DT_FLOAT", [-1, 2])}, "outputs": {}},
        "old_conditions": {"inputs": {}, "outputs": {"json": ("DT_STRING", [])}}}


def test_codec_decodes_the_documented_forms_and_refuses_what_tf_serving_refuses():
    name, t, form = decode_request('{"signature_name": "generate", "instances": [{"seed": 1, "hair": 2}, '
                                   '{"seed": 3, "hair": 4}]}', DEFS)
    assert (name, form) == ("generate", "row") and t["seed"].dtype == np.int64 and t["hair"].tolist() == [2, 4]
    name, t, form = decode_request('{"signature_name": "generate", "inputs": {"seed": [1, 3], "hair": [2, 4]}}', DEFS)
    assert form == "columnar" and t["seed"].tolist() == [1, 3]
    _, t, _ = decode_request('{"signature_name": "b2a_bytes", "instances": [{"b64": "aGk="}]}', DEFS)
    assert t["image_bytes"].tolist() == [b"hi"]
    _, t, _ = decode_request('{"instances": [[0.5, 1], [2, -3.25]]}', DEFS)  # serving_default by default
    assert t["z"].dtype == np.float32 and t["z"].tolist() == [[0.5, 1.0], [2.0, -3.25]]
    refused = {
        '{"signature_name": "generate", "instances": [1, 2]}': "plain list",
        '{"signature_name": "generate", "instances": [{"seed": 1}]}': "keys must be equal",
        '{"signature_name": "generate", "instances": [{"seed": 1, "hair": 1.0}]}': "not of expected type",
        '{"signature_name": "generate", "instances": []}': "No values",
        '{"signature_name": "generate", "instances": [], "inputs": {}}': "only one of",
        '{"signature_name": "generate", "inputs": {"seed": [1]}}': "Missing named input: hair",
        '{"signature_name": "b2a_bytes", "instances": [{"b64": "%%%"}]}': "base64",
        '{"instances": [[16777217, 0]]}': "loss of precision",
        '{"instances": [[1, 2], [3]]}': "shape",
        '{"signature_name": "old_conditions", "inputs": {}}': "Failed to get input map",
        '{"signature_name": "nope", "instances": [1]}': "not found",
        '{"signature_name": "generate"}': "Missing 'inputs' or 'instances'",
    }
    for body, why in refused.items():
        with pytest.raises(RestError, match=why):
            decode_request(body, DEFS)


def test_codec_encodes_the_response_forms():
    out = {"images": np.zeros((2, 1, 1, 1), np.uint8), "image_bytes": np.array([b"\x89P", b"ab"], object)}
    row = json.loads(encode_response(out, "row"))
    assert row == {"predictions": [{"images": [[[0]]], "image_bytes": {"b64": "iVA="}},
                                   {"images": [[[0]]], "image_bytes": {"b64": "YWI="}}]}
    assert json.loads(encode_response({"json": np.array([b'{"a": 1}'], object)}, "row")) == {"predictions": ['{"a": 1}']}
    assert encode_response({"x": np.array([1.0, 0.1, 1e7], np.float32)}, "columnar") == '{"outputs": [1.0,0.1,1e+07]}'
    with pytest.raises(RestError, match="no shape information"):  # what the previous metadata signatures returned
        encode_response({"json": np.array(b"{}", object)}, "row")
    assert json.loads(encode_response({"json": np.array(b"{}", object)}, "columnar")) == {"outputs": "{}"}
    with pytest.raises(RestError, match="inconsistent batch size"):
        encode_response({"a": np.zeros(2), "b": np.zeros(3)}, "row")


# ----- over HTTP: the shipped models ---------------------------------------------------------------------------------
def test_acgan_over_rest_gives_sample_s_images(rest, tmp_path):
    from keras_gans.cli import main
    from keras_gans.core.images import make_grid

    url = _model(rest, "acgan")
    status, meta = _call(f"{url}/metadata")
    assert status == 200
    sigs = meta["metadata"]["signature_def"]["signature_def"]
    z_dims = [int(d["size"]) for d in sigs["serving_default"]["inputs"]["z"]["tensorShape"]["dim"]]
    image_dims = [int(d["size"]) for d in sigs["generate"]["outputs"]["images"]["tensorShape"]["dim"]]
    assert z_dims == [-1, 100] and image_dims == [-1, 64, 64, 3]  # latent size and image size, from the metadata
    status, out = _call(f"{url}:predict", {"signature_name": "conditions", "instances": [0]})
    assert status == 200, out
    metas = {m["name"]: m for m in json.loads(out["predictions"][0])}
    hair, eyes = metas["hair"]["classes"].index("blonde"), metas["eyes"]["classes"].index("blue")

    n = 16
    status, out = _call(f"{url}:predict", {"signature_name": "generate",
                                           "instances": [{"seed": i, "hair": hair, "eyes": eyes} for i in range(n)]})
    assert status == 200, out
    pngs = np.stack([_png(p["image_bytes"]) for p in out["predictions"]])
    tensors = np.array([p["images"] for p in out["predictions"]], np.uint8)
    np.testing.assert_array_equal(pngs, tensors)
    status, col = _call(f"{url}:predict", {"signature_name": "generate", "inputs": {
        "seed": list(range(n)), "hair": [hair] * n, "eyes": [eyes] * n}})
    assert status == 200 and sorted(col["outputs"]) == ["image_bytes", "images"]
    np.testing.assert_array_equal(np.array(col["outputs"]["images"], np.uint8), pngs)

    res = CliRunner().invoke(main, ["sample", str(SHIPPED / "acgan"), "--hair", "blonde", "--eyes", "blue", "--n", str(n),
                                    "--out", str(tmp_path / "s.png")])
    assert res.exit_code == 0, res.output
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "s.png")), make_grid(pngs))
    assert pngs.std() > 20  # faces, not a blank

    # z as JSON numbers: float32 values written in full round-trip exactly, so the pixels equal the in-process call
    import tensorflow as tf

    z = np.random.default_rng(5).normal(size=(3, 100)).astype(np.float32)
    status, out = _call(f"{url}:predict", {"inputs": {"z": z.tolist(), "hair": [0, 1, 2], "eyes": [3, 4, 5]}})
    assert status == 200, out
    want = tf.saved_model.load(str(SHIPPED / "acgan" / "1")).signatures["serving_default"](
        z=tf.constant(z), hair=tf.constant([0, 1, 2]), eyes=tf.constant([3, 4, 5]))["images"].numpy()
    np.testing.assert_array_equal(np.array(out["outputs"], np.uint8), want)

    status, out = _call(f"{url}:predict", {"signature_name": "generate", "instances": [1, 2]})
    assert status == 400 and "error" in out  # three inputs need objects per row


def test_ukiyoe_over_rest_b64_photo_in_png_out(rest):
    import tensorflow as tf

    url = _model(rest, "ukiyoe")
    status, out = _call(f"{url}:predict", {"signature_name": "directions", "instances": [0]})
    assert status == 200, out
    d = json.loads(out["predictions"][0])
    assert d["photo2style"] == "b2a" and d["image_size"] == 64
    photos = sorted(PHOTOS.glob("*.jpg"))[:2] if PHOTOS.is_dir() else []
    if photos:
        blobs = [p.read_bytes() for p in photos]
    else:  # no data here: random photos, encoded as the client would
        rng = np.random.default_rng(0)
        blobs = [tf.io.encode_jpeg(rng.integers(0, 256, (45, 70, 3), dtype=np.uint8)).numpy() for _ in range(2)]
    body = {"instances": [{"b64": base64.b64encode(b).decode()} for b in blobs]}  # serving_default: bytes -> PNG
    status, out = _call(f"{url}:predict", body)
    assert status == 200, out
    sig = tf.saved_model.load(str(SHIPPED / "ukiyoe" / "1")).signatures["b2a"]
    for blob, pred in zip(blobs, out["predictions"]):
        photo = tf.io.decode_image(blob, channels=3, expand_animations=False)[None]
        got = _png(pred)
        np.testing.assert_array_equal(got, sig(images=photo)["images"].numpy()[0])
        assert got.shape == tuple(photo.shape[1:])
    small = np.random.default_rng(1).integers(0, 256, (1, 9, 13, 3), dtype=np.uint8)
    status, out = _call(f"{url}:predict", {"signature_name": "b2a", "instances": small.tolist()})
    assert status == 200, out
    np.testing.assert_array_equal(np.array(out["predictions"], np.uint8), sig(images=small)["images"].numpy())


# ----- over HTTP: exports made here (the emulator only) ---------------------------------------------------------------
def test_new_exports_over_rest(rest, tiny, tmp_path):
    from keras_gans.cli import main
    from keras_gans.core.images import make_grid

    if not rest[1]:
        pytest.skip("the tiny exports are served by the emulator only")
    url = _model(rest, "latent")
    status, out = _call(f"{url}:predict", {"signature_name": "generate", "instances": [0, 1, 2, 3]})  # one input
    assert status == 200, out
    pngs = np.stack([_png(p["image_bytes"]) for p in out["predictions"]])
    res = CliRunner().invoke(main, ["sample", str(tiny["latent"]), "--n", "4", "--cell", "0", "--out", str(tmp_path / "s.png")])
    assert res.exit_code == 0, res.output
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "s.png")).squeeze(), make_grid(pngs).squeeze())

    url = _model(rest, "cond")
    status, out = _call(f"{url}:predict", {"signature_name": "conditions", "inputs": [0]})
    assert status == 200 and [m["name"] for m in json.loads(out["outputs"][0])] == ["hair", "eyes", "objects", "smiling"]
    url = _model(rest, "cyc")
    status, out = _call(f"{url}:predict", {"signature_name": "directions", "instances": [7, 7]})
    assert status == 200 and len(out["predictions"]) == 2 and json.loads(out["predictions"][1])["image_size"] == 16


def test_upgrade_marks_unseen_classes_and_sample_warns(tmp_path, tiny):
    """`export --upgrade --unseen eyes=CLASS` marks a class no training image had (the shipped acgan's gray eyes):
    same pixels, the metadata says so, `sample --eyes CLASS` warns and still draws; bad names get exit 2."""
    import tensorflow as tf

    from keras_gans.cli import main
    from keras_gans.export.savedmodel import find_export, read_json_signature

    src = find_export(tiny["cond"])
    metas = {m["name"]: m for m in read_json_signature(tf.saved_model.load(str(src)).signatures, "conditions")}
    cls = metas["eyes"]["classes"][-1]
    res = CliRunner().invoke(main, ["export", "--upgrade", str(src), "--out", str(tmp_path / "up"), "--name", "c",
                                    "--version", "1", "--unseen", f"eyes={cls}"])
    assert res.exit_code == 0 and "conditions" in res.output, res.output
    after = {m["name"]: m for m in read_json_signature(
        tf.saved_model.load(str(tmp_path / "up" / "c" / "1")).signatures, "conditions")}
    assert after["eyes"]["unseen"] == [cls] and "unseen" not in after["hair"]
    assert after["eyes"]["classes"] == metas["eyes"]["classes"]
    out = tmp_path / "s.png"
    res = CliRunner().invoke(main, ["sample", str(tmp_path / "up" / "c"), "--n", "2", "--eyes", cls,
                                    "--out", str(out)], catch_exceptions=False)
    assert res.exit_code == 0 and out.exists(), res.output
    assert "never learnt" in res.output, res.output
    for bad in (["--unseen", "nose=big"], ["--unseen", "eyes=notacolour"], ["--unseen", "eyes"]):
        res = CliRunner().invoke(main, ["export", "--upgrade", str(src), "--out", str(tmp_path / "bad"), *bad])
        assert res.exit_code == 2 and "--unseen" in res.output, res.output
        assert not (tmp_path / "bad").exists()
