"""Issue 30, item 3: the demo says what went wrong. Its HTTP API driven with bad requests (a seed of "abc", a grid size
out of range, an unknown API name, a file that is not an image, a truncated JPEG, an upload over the cap): each gets
the CLI's one-line reason (4xx where the protocol has a status), the server logs one line and no traceback, and every
upload is deleted once its request is done. Also: directions read "photo -> STYLE", no "share=True" hint, grid
cells of at least 64 px. Served in-process on 127.0.0.1 over the tiny test exports (tests/demo_exports.py); skipped
cleanly without Gradio. About 20 s."""

from __future__ import annotations

import io
import os
import socket

import numpy as np
import pytest
from PIL import Image

gr = pytest.importorskip("gradio", reason='Gradio is not installed (pip install -e ".[demo]")')
requests = pytest.importorskip("requests")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    from demo_exports import make_exports

    return make_exports(tmp_path_factory.mktemp("demo_exports"))


class Served:
    def __init__(self, path):
        from keras_gans.demo.app import serve
        from keras_gans.demo.logic import load_model

        self.model = load_model(path)
        self.port = _free_port()
        self.app = serve(self.model, self.port, block=False, max_upload_mb=1)
        self.base = f"http://127.0.0.1:{self.port}/gradio_api"

    def call(self, name, data):
        """(event, payload) of the queue API: POST /call/NAME, then the event stream's last event."""
        import json

        r = requests.post(f"{self.base}/call/{name}", json={"data": data}, timeout=60)
        assert r.status_code == 200, r.text
        text = requests.get(f"{self.base}/call/{name}/{r.json()['event_id']}", timeout=120).text
        event = [ln.split(": ", 1)[1] for ln in text.splitlines() if ln.startswith("event: ")][-1]
        data = [ln.split(": ", 1)[1] for ln in text.splitlines() if ln.startswith("data: ")][-1]
        return event, json.loads(data)

    def upload(self, name, data: bytes):
        return requests.post(f"{self.base}/upload", files={"files": (name, data)}, timeout=60)


@pytest.fixture(scope="module")
def latent(exports):
    s = Served(exports["latent"])
    yield s
    s.app.close()


@pytest.fixture(scope="module")
def cyc(exports):
    s = Served(exports["cyc"])
    yield s
    s.app.close()


@pytest.mark.parametrize("data, message", [
    (["abc", 4, 1.0], "the seed must be a whole number, got 'abc'"),
    ([1, "x", 1.0], "the grid size must be a whole number from 1 to 256, got 'x'"),
    ([1, 100000, 1.0], "the grid size must be a whole number from 1 to 256"),
    ([-3, 4, 1.0], "the seed must be a whole number from 0"),
    ([1, 4, "abc"], "truncation must be a number in [0, 1]"),
    ([1, 4, 1.5], "truncation must be in [0, 1]"),
])
def test_bad_values_get_the_reason_and_one_log_line(latent, capfd, data, message):
    capfd.readouterr()
    event, payload = latent.call("generate", data)
    assert event == "error" and payload["error"] and message in payload["error"], payload  # was {"error": null}
    err = capfd.readouterr().err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("demo: ")]
    assert len(lines) == 1 and message in lines[0], err


def test_sync_api_answers_400_for_a_user_error_and_404_for_an_unknown_name(latent):
    r = requests.post(f"{latent.base}/run/generate", json={"data": ["abc", 4, 1.0]}, timeout=60)
    assert r.status_code == 400 and "the seed must be a whole number" in r.json()["error"], r.text
    r = requests.post(f"{latent.base}/call/no_such_api", json={"data": [1]}, timeout=60)
    assert r.status_code == 404 and "no_such_api" in r.json()["error"], r.text  # was HTTP 500
    r = requests.post(f"{latent.base}/run/no_such_api", json={"data": [1]}, timeout=60)
    assert r.status_code == 404, r.text


def test_grid_cells_are_at_least_64_px(latent):
    event, payload = latent.call("generate", [2, 9, 1.0])
    assert event == "complete", payload
    grid = np.asarray(Image.open(payload[0]["path"]))
    k = 4  # 16 px cells shown 4x
    assert grid.shape[:2] == ((3 * 18 + 2) * k, (3 * 18 + 2) * k)
    want = latent.model.generate(np.arange(9, dtype=np.int64) + 200000, {})[..., 0]
    np.testing.assert_array_equal(grid[::k, ::k][2:18, 2:18], want[0])  # the same pixels, enlarged
    assert "shown 4x" in payload[1]


@pytest.mark.parametrize("name, make, message", [
    ("notes.png", lambda: b"this is not an image", "not a decodable image"),
    ("half.jpg", lambda: _jpeg()[: len(_jpeg()) // 2], "truncated"),
    ("empty.png", lambda: b"", "empty file"),
])
def test_bad_uploads_get_the_reason_and_are_deleted(cyc, capfd, name, make, message):
    up = cyc.upload(name, make())
    assert up.status_code == 200, up.text
    path = up.json()[0]
    capfd.readouterr()
    event, payload = cyc.call("translate", [{"path": path, "meta": {"_type": "gradio.FileData"}}, cyc.model.directions[0]])
    assert event == "error" and message in (payload["error"] or ""), payload
    err = capfd.readouterr().err
    assert "Traceback" not in err and sum(ln.startswith("demo: ") for ln in err.splitlines()) == 1, err
    assert not os.path.exists(path)  # deleted when its request is done


def _jpeg(h=90, w=120) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def test_a_good_upload_is_translated_at_its_size_and_deleted(cyc):
    up = cyc.upload("photo.jpg", _jpeg())
    path = up.json()[0]
    event, payload = cyc.call("translate", [{"path": path, "meta": {"_type": "gradio.FileData"}}, cyc.model.directions[0]])
    assert event == "complete", payload
    assert Image.open(payload[0]["path"]).size == (120, 90)
    assert payload[1].startswith("photo -> cyc: 120x90 -> 120x90")
    assert not os.path.exists(path)


def test_uploads_over_the_cap_are_refused(cyc):
    r = cyc.upload("big.bin", os.urandom(1024 * 1024 + 10))  # the cap is 1 MB here (--max-upload-mb 1)
    assert r.status_code == 413, r.text


def test_directions_read_photo_to_style():
    from keras_gans.demo.logic import style_name

    assert style_name("cyclegan_ukiyoe") == "ukiyo-e" and style_name("ukiyoe/1") == "ukiyo-e"
    assert style_name("cyclegan") == "style" and style_name("monet") == "monet"


def test_direction_labels_and_no_share_hint(cyc, capfd):
    assert cyc.model.direction_labels == {"a2b": "photo -> cyc", "b2a": "cyc -> photo"}
    config = requests.get(f"http://127.0.0.1:{cyc.port}/config", timeout=30).json()
    radios = [c for c in config["components"] if c.get("props", {}).get("elem_id") == "direction"]
    assert [c[0] for c in radios[0]["props"]["choices"]] == ["photo -> cyc", "cyc -> photo"]
    from keras_gans.demo.app import serve

    capfd.readouterr()
    app = serve(cyc.model, _free_port(), block=False)
    app.close()
    out = capfd.readouterr()
    assert "share=True" not in out.out + out.err
