"""`python cli.py demo` in a real browser: headless Chromium (driven by Playwright) opens the page served on
127.0.0.1, chooses seeds and conditions, clicks, and checks the decoded pixels of the images that appear against
the export called directly. Skips with a reason when Gradio, Playwright or a Chromium binary is absent
(install: pip install -e ".[demo,demo-test]"; apt-get install chromium). Slow: three pages, one through the CLI."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO

pytestmark = pytest.mark.slow
K = 4  # the test exports' 16 px cells are shown 4x (keras_gans.demo.app.MIN_CELL = 64)

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SHOTS = os.environ.get("KERAS_GANS_DEMO_SHOTS")  # a folder (e.g. docs/img) to copy the page screenshots into
# the shipped exports (or others, by these variables) get their own page tests when present
SHIPPED = {"acgan": os.environ.get("KERAS_GANS_DEMO_ACGAN", str(REPO / "saved_models" / "acgan")),
           "ukiyoe": os.environ.get("KERAS_GANS_DEMO_UKIYOE", str(REPO / "saved_models" / "ukiyoe"))}


def chromium_path() -> str | None:
    for c in (os.environ.get("KERAS_GANS_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser",
              shutil.which("chromium"), shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return None


def _require():
    pytest.importorskip("gradio", reason='Gradio is not installed (pip install -e ".[demo]")')
    pytest.importorskip("playwright.sync_api", reason='Playwright is not installed (pip install -e ".[demo-test]")')
    if chromium_path() is None:
        pytest.skip("no Chromium binary (apt-get install chromium, or set KERAS_GANS_CHROMIUM=/path/to/chrome)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`python cli.py demo PATH --port P` in a subprocess; stopped with SIGTERM like a user's Ctrl+C."""

    def __init__(self, path, log: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = log
        env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", TF_CPP_MIN_LOG_LEVEL="2")
        self.proc = subprocess.Popen([sys.executable, "cli.py", "demo", str(path), "--port", str(self.port)], cwd=REPO,
                                     env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)

    def wait(self, timeout=180):
        t0 = time.time()
        while time.time() - t0 < timeout:
            if self.proc.poll() is not None:
                raise AssertionError(f"demo exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        raise AssertionError(f"demo did not answer within {timeout}s:\n{self.log.read_text()[-3000:]}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    _require()
    from demo_exports import make_exports

    return make_exports(tmp_path_factory.mktemp("demo_exports"))


class InProcess:
    """The same page served from this process (saves a TensorFlow start on a busy machine)."""

    def __init__(self, path):
        from keras_gans.demo.app import serve
        from keras_gans.demo.logic import load_model

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.app = serve(load_model(path), self.port, block=False)

    def stop(self):
        self.app.close()


@pytest.fixture(scope="module")
def servers(exports, tmp_path_factory):
    """The conditional page through the real command (`python cli.py demo`, a subprocess); the latent and CycleGAN
    pages from this process while that one starts."""
    logs = tmp_path_factory.mktemp("demo_logs")
    started = {"cond": Server(exports["cond"], logs / "cond.log")}
    try:
        started["latent"] = InProcess(exports["latent"])
        started["cyc"] = InProcess(exports["cyc"])
        started["cond"].wait()
        yield started
    finally:
        for s in started.values():
            s.stop()


@pytest.fixture(scope="module")
def browser():
    _require()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1100, "height": 1300})
    pg = ctx.new_page()
    pg.set_default_timeout(60000)
    yield pg
    ctx.close()


# ----- page helpers -----------------------------------------------------------------------------------------------
def open_page(page, url):
    page.goto(url)
    page.wait_for_selector("#about")


def image_src(page, elem_id) -> str | None:
    img = page.query_selector(f"#{elem_id} img")
    return img.get_attribute("src") if img else None


def click_for_image(page, button_id, elem_id) -> np.ndarray:
    """Click, wait until the image in elem_id is a new one, and return its decoded pixels (from the served file)."""
    from PIL import Image

    old = image_src(page, elem_id)
    page.click(f"#{button_id}")
    page.wait_for_function(
        "([sel, old]) => { const i = document.querySelector(sel); return i && i.src && i.src !== old && i.complete; }",
        arg=[f"#{elem_id} img", old or ""])
    src = image_src(page, elem_id)
    body = page.request.get(src).body()
    return np.asarray(Image.open(io.BytesIO(body)))


def set_number(page, elem_id, value):
    box = page.locator(f"#{elem_id} input").first
    box.fill(str(value))
    box.press("Tab")


def choose(page, elem_id, option: str):
    """Pick an option of a Gradio dropdown the way a user does: open it, click the option."""
    page.click(f"#{elem_id} input")
    page.locator("[role=option]", has_text=option).first.click()
    page.wait_for_function("([sel, v]) => document.querySelector(sel).value === v", arg=[f"#{elem_id} input", option])


def tiles(grid: np.ndarray, n: int, size: int = 16, pad: int = 2, nrow: int | None = None) -> np.ndarray:
    """Cut a make_grid image back into its n tiles."""
    import math

    ncol = nrow or int(math.ceil(math.sqrt(n)))
    out = []
    for i in range(n):
        r, c = divmod(i, ncol)
        y, x = pad + r * (size + pad), pad + c * (size + pad)
        out.append(grid[y:y + size, x:x + size])
    return np.stack(out)


def shot(page, tmp_path, name):
    """A full-page screenshot; with KERAS_GANS_DEMO_SHOTS=DIR also DIR/demo_NAME.png (256 colours: small)."""
    from PIL import Image

    path = tmp_path / f"demo_{name}.png"
    page.screenshot(path=str(path), full_page=True)
    img = Image.open(path)
    assert img.width >= 800 and np.asarray(img.convert("L")).std() > 5  # a rendered page, not a blank one
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        img.convert("RGB").quantize(256).save(Path(SHOTS) / path.name, optimize=True)
    return path


def direct(path):
    from keras_gans.demo.logic import load_model

    return load_model(path)


# ----- the tests --------------------------------------------------------------------------------------------------
def test_latent_page_seed_grid_interpolation_and_gif(servers, exports, page, tmp_path):
    from PIL import Image

    from keras_gans.demo import logic

    open_page(page, servers["latent"].url)
    set_number(page, "seed", 3)
    set_number(page, "grid-size", 9)
    grid = click_for_image(page, "generate", "grid")[::K, ::K]  # 16 px cells are shown K x (>= 64 px)
    assert grid.shape == (3 * 18 + 2, 3 * 18 + 2)  # gray: 9 tiles of 16 px, 2 px padding
    got = tiles(grid, 9)
    assert all(t.std() > 5 for t in got)  # not blank
    assert np.abs(got[0].astype(int) - got[1].astype(int)).max() > 0
    model = direct(exports["latent"])
    want = model.generate(logic.grid_seeds(3, 9), {})[..., 0]
    np.testing.assert_array_equal(got, want)  # the page shows exactly what the export's `generate` gives
    assert "latent seeds 300000..300008" in page.inner_text("#caption")

    set_number(page, "seed", 4)
    other = click_for_image(page, "generate", "grid")[::K, ::K]
    assert other.shape == grid.shape and np.abs(other.astype(int) - grid.astype(int)).mean() > 1.0

    fresh = click_for_image(page, "new-seeds", "grid")[::K, ::K]
    new_seed = int(float(page.input_value("#seed input")))
    np.testing.assert_array_equal(tiles(fresh, 9), model.generate(logic.grid_seeds(new_seed, 9), {})[..., 0])

    set_number(page, "seed-a", 3)
    set_number(page, "seed-b", 4)
    set_number(page, "steps", 6)
    strip = click_for_image(page, "interpolate", "strip")[::K, ::K]
    assert strip.shape == (16 + 4, 6 * 18 + 2)
    frames = tiles(strip, 6, nrow=6)
    np.testing.assert_array_equal(frames[0], got[0])  # starts at seed 3's first image ...
    np.testing.assert_array_equal(frames[-1], other[2:18, 2:18])  # ... ends at seed 4's
    link = page.wait_for_selector("#gif a[href]")
    gif = Image.open(io.BytesIO(page.request.get(link.get_attribute("href")).body()))
    assert gif.format == "GIF" and gif.n_frames == 2 * 6 - 2 and min(gif.size) >= 128
    shot(page, tmp_path, "latent")


def test_conditional_page_conditions_and_vary(servers, exports, page, tmp_path):
    from keras_gans.demo import logic
    from demo_exports import HEADS

    open_page(page, servers["cond"].url)
    set_number(page, "seed", 7)
    set_number(page, "grid-size", 4)
    choose(page, "cond-hair", "red")
    choose(page, "cond-eyes", "green")
    page.locator("#cond-objects label", has_text="blue sphere").click()  # red cube (default) + blue sphere
    red = click_for_image(page, "generate", "grid")[::K, ::K]
    assert red.shape == (2 * 18 + 2, 2 * 18 + 2, 3)
    got = tiles(red, 4)
    assert all(t.std() > 5 for t in got)
    model = direct(exports["cond"])
    choices = ["red", "green", ["red cube", "blue sphere"], True]
    _, arrays, _, _ = logic.grid_inputs(HEADS, 7, 4, choices)
    assert arrays["hair"].tolist() == [2] * 4 and arrays["objects"][0].tolist() == [1, 1, 0]
    np.testing.assert_array_equal(got, model.generate(logic.grid_seeds(7, 4), arrays))

    choose(page, "cond-hair", "blonde")
    blonde = click_for_image(page, "generate", "grid")[::K, ::K]
    assert np.abs(blonde.astype(int) - red.astype(int)).mean() > 0.5  # the condition changes the images

    page.locator("#cond-smiling label").click()  # binary attribute off
    off = click_for_image(page, "generate", "grid")[::K, ::K]
    assert np.abs(off.astype(int) - blonde.astype(int)).mean() > 0.5
    _, arrays, _, _ = logic.grid_inputs(HEADS, 7, 4, ["blonde", "green", ["red cube", "blue sphere"], False])
    np.testing.assert_array_equal(tiles(off, 4), model.generate(logic.grid_seeds(7, 4), arrays))

    choose(page, "vary", "hair")
    rows = click_for_image(page, "generate", "grid")[::K, ::K]
    assert rows.shape == (3 * 18 + 2, 4 * 18 + 2, 3)  # one row per hair colour, 4 per row
    per_row = tiles(rows, 12, nrow=4).reshape(3, 4, 16, 16, 3)
    assert all(np.abs(per_row[0].astype(int) - per_row[r].astype(int)).mean() > 0.5 for r in (1, 2))
    assert "hair = aqua, blonde, red" in page.inner_text("#caption")
    choose(page, "vary", "none")
    choose(page, "cond-hair", "red")
    set_number(page, "grid-size", 16)
    click_for_image(page, "generate", "grid")
    shot(page, tmp_path, "conditional")


def test_cyclegan_page_uploads_a_photo(servers, exports, page, tmp_path):
    from PIL import Image

    from keras_gans.demo import logic

    photo = np.random.default_rng(0).integers(0, 256, (45, 61, 3)).astype(np.uint8)  # any size, not the 16 px
    Image.fromarray(photo).save(tmp_path / "photo.png")  # PNG: the pixels the page sends are these exactly
    open_page(page, servers["cyc"].url)
    page.set_input_files("#photo input[type=file]", str(tmp_path / "photo.png"))
    page.wait_for_selector("#photo img")
    out = click_for_image(page, "translate", "translated")
    assert out.shape == (45, 61, 3) and out.std() > 0.5
    np.testing.assert_array_equal(out, logic.translate_image(direct(exports["cyc"]), photo, "a2b"))
    page.locator("#direction label", has_text="cyc -> photo").click()  # b2a, as the page names it
    back = click_for_image(page, "translate", "translated")
    assert back.shape == (45, 61, 3) and np.abs(back.astype(int) - out.astype(int)).mean() > 0.5
    assert "61x45 -> 61x45" in page.inner_text("#caption")
    shot(page, tmp_path, "cyclegan")


def test_server_stops_and_removes_its_files(servers, page):
    """Nothing is left on disk: Gradio's copies of the shown images live in a folder removed when the demo stops
    (SIGTERM here, as Ctrl+C)."""
    import re
    from urllib.parse import unquote

    s = servers["cond"]
    open_page(page, s.url)
    click_for_image(page, "generate", "grid")
    src = unquote(image_src(page, "grid"))
    folder = Path(re.search(r"file=(/.*?keras_gans_demo_[^/]+)/", src).group(1))
    assert folder.is_dir() and any(folder.rglob("*.png"))
    s.stop()
    assert s.proc.returncode is not None
    assert not folder.exists()


# ----- the shipped exports (saved_models/acgan, saved_models/ukiyoe) when this checkout has them -------------------
def shipped(name):
    from keras_gans.demo.logic import resolve_export

    _require()
    try:
        resolve_export(SHIPPED[name])
    except Exception:
        pytest.skip(f"no export at {SHIPPED[name]} (set KERAS_GANS_DEMO_{name.upper()} to test another)")
    return SHIPPED[name]


def test_shipped_acgan_page(browser, page, tmp_path):
    """`python cli.py demo saved_models/acgan`: choose a class of every condition, generate, compare with the
    export; change one condition; vary it (one row per class); screenshot."""
    from keras_gans.demo import logic

    path = shipped("acgan")
    server = Server(path, tmp_path / "acgan.log")
    try:
        model = direct(path)
        size = model.generate(np.zeros(1, np.int64), logic._first_class_arrays(model.metas, 1)).shape[1]
        softmax = [m for m in model.metas if m["type"] == "softmax"]
        assert softmax, "the acgan export has no softmax condition to choose"
        server.wait()
        open_page(page, server.url)
        set_number(page, "seed", 1)
        set_number(page, "grid-size", 9)
        picks = {m["name"]: m["classes"][min(2, len(m["classes"]) - 1)] for m in softmax}
        picks.update({k: v for k, v in (("hair", "blonde"), ("eyes", "blue")) if k in picks
                      and v in next(m["classes"] for m in softmax if m["name"] == k)})
        for name, cls in picks.items():
            choose(page, f"cond-{name}", cls)
        grid = click_for_image(page, "generate", "grid")
        assert grid.shape[:2] == (3 * (size + 2) + 2, 3 * (size + 2) + 2)
        choices = [picks.get(m["name"], logic.default_choice(m)) for m in model.metas]
        _, arrays, _, _ = logic.grid_inputs(model.metas, 1, 9, choices)
        np.testing.assert_array_equal(tiles(grid, 9, size).reshape(9, size, size, -1),
                                      model.generate(logic.grid_seeds(1, 9), arrays).reshape(9, size, size, -1))
        first = softmax[0]
        other = next(c for c in first["classes"] if c != picks[first["name"]])
        choose(page, f"cond-{first['name']}", other)
        changed = click_for_image(page, "generate", "grid")
        assert np.abs(changed.astype(int) - grid.astype(int)).mean() > 1.0
        choose(page, "vary", first["name"])
        set_number(page, "grid-size", 6)
        rows = click_for_image(page, "generate", "grid")
        assert rows.shape[:2] == (len(first["classes"]) * (size + 2) + 2, 6 * (size + 2) + 2)
        set_number(page, "steps", 8)
        strip = click_for_image(page, "interpolate", "strip")
        assert strip.shape[:2] == (size + 4, 8 * (size + 2) + 2)
        page.wait_for_selector("#gif a[href]")
        shot(page, tmp_path, "acgan")
    finally:
        server.stop()


def test_shipped_ukiyoe_page(browser, page, tmp_path):
    """`python cli.py demo saved_models/ukiyoe`: upload a photo (a real one from ../shared when present), get the
    translated image at the photo's size, equal to the export called directly; screenshot."""
    from PIL import Image

    from keras_gans.demo import logic

    path = shipped("ukiyoe")
    server = Server(path, tmp_path / "ukiyoe.log")
    try:
        photos = sorted((REPO.parent / "shared" / "data" / "ukiyoe2photo" / "testB").glob("*.jpg"))
        photo = (np.asarray(Image.open(photos[0]).convert("RGB")) if photos else
                 np.random.default_rng(0).integers(0, 256, (120, 90, 3)).astype(np.uint8))
        Image.fromarray(photo).save(tmp_path / "photo.png")
        model = direct(path)
        server.wait()
        open_page(page, server.url)
        page.set_input_files("#photo input[type=file]", str(tmp_path / "photo.png"))
        page.wait_for_selector("#photo img")
        out = click_for_image(page, "translate", "translated")
        assert out.shape == photo.shape and out.std() > 5
        np.testing.assert_array_equal(out, logic.translate_image(model, photo, model.directions[0]))
        shot(page, tmp_path, "ukiyoe")
    finally:
        server.stop()
