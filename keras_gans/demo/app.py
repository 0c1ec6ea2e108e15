"""The Gradio page of `python cli.py demo`: layout and event wiring only; every request goes through
keras_gans.demo.logic. Served on 127.0.0.1, analytics off, no share link; generated files live in a temporary
folder that is deleted when the demo stops (nothing else is written unless the user downloads it).

Bad requests are the user's, not bugs: every handler takes the raw values (preprocess=False) and checks them itself,
so a wrong seed, a file that is not an image or a truncated one gets the CLI's one-line reason in the page (and in an
API answer), one `demo: ...` line in the server's log and no traceback; an unknown API name answers 404 with a
message; uploads are capped (--max-upload-mb, 413 above it) and each is deleted once its request is done."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from keras_gans.demo import logic
from keras_gans.core.errors import UserError
from keras_gans.core.io_utils import atomic_write_bytes

INSTALL_HINT = 'the demo needs Gradio: pip install -e ".[demo]"'
# small GAN images: enlarge without blurring; fonts from the system (the page must work offline)
CSS = """
#grid img, #strip img, #translated img { image-rendering: pixelated; }
#translated img { width: 100%; height: 100%; object-fit: contain; }
#grid img, #strip img { width: auto; height: auto; max-width: none; max-height: none; object-fit: none; }
#grid .image-container, #grid .image-frame, #strip .image-container, #strip .image-frame { overflow: auto; }
"""
MIN_CELL = 64  # grid cells are shown at least this many pixels wide (nearest-neighbour); a big grid scrolls
MAX_UPLOAD_MB = 25
USER_ERROR_TITLE = "Invalid input"  # the title of a request the user got wrong (an HTTP API call answers 400)
KEEP_OUTPUTS_S = 1800  # shown images stay downloadable this long, then are deleted (all of them when the demo stops)
FONTS = ["ui-sans-serif", "system-ui", "sans-serif"]
MONO = ["ui-monospace", "Consolas", "monospace"]


def import_gradio():
    """Gradio with analytics and version checks off (set before the import), or a one-line UserError."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("GRADIO_SERVER_NAME", "127.0.0.1")
    try:
        import gradio as gr
    except ImportError:
        raise UserError(INSTALL_HINT) from None
    return gr


def log_line(text: str) -> None:
    """One line in the server's log (stderr), for a request the user got wrong: no traceback."""
    import sys

    print(f"demo: {' '.join(str(text).split())}", file=sys.stderr, flush=True)


def _guard(fn):
    """UserError -> gr.Error without a traceback: the page (and an API answer) shows the one-line reason, the server
    logs one line. Anything else is a bug: Gradio prints its traceback, and the page still says what it was."""
    import gradio as gr

    def wrapped(*args):
        try:
            return fn(*args)
        except UserError as e:
            log_line(f"{fn.__name__}: {e}")
            raise gr.Error(str(e), title=USER_ERROR_TITLE, print_exception=False) from None
        except gr.Error:
            raise
        except Exception as e:
            raise gr.Error(f"internal error ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
                           "see the server's log") from e

    wrapped.__name__ = fn.__name__
    return wrapped


def _upload_path(value) -> str | None:
    """The file of a raw image payload (Gradio's FileData dict, or a path as an API client may send it)."""
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        return value.get("path")
    if isinstance(value, str):
        return value
    raise UserError(f"expected an uploaded image file, got {type(value).__name__}")


def _remove_upload(path: str | None) -> None:
    """Delete a request's upload (and its folder, when Gradio made one for it) once the request is done."""
    if not path:
        return
    p = Path(path)
    try:
        p.unlink(missing_ok=True)
        if p.parent.name and not any(p.parent.iterdir()):
            p.parent.rmdir()
    except OSError:
        pass


def _write_output(workdir: Path, name: str, image) -> str:
    """A shown image as a file the page serves and downloads, through the one image writer (whole or none); outputs
    older than KEEP_OUTPUTS_S are removed first, so a long session does not fill the disk."""
    import time
    import uuid

    from keras_gans.core.io_utils import save_image

    out = workdir / "outputs"
    out.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in out.glob("*"):
        try:
            if now - old.stat().st_mtime > KEEP_OUTPUTS_S:
                old.unlink()
        except OSError:
            pass
    path = out / f"{uuid.uuid4().hex[:12]}_{name}"
    save_image(path, image)
    return str(path)


def build_app(model: logic.DemoModel, workdir: str | Path | None = None):
    """The gr.Blocks page for one export: generator (latent / conditional) or image translator."""
    gr = import_gradio()
    workdir = Path(workdir or tempfile.mkdtemp(prefix="keras_gans_demo_"))
    with gr.Blocks(title=f"keras_gans demo: {model.name}", delete_cache=(KEEP_OUTPUTS_S, KEEP_OUTPUTS_S)) as app:
        gr.Markdown(f"## keras_gans demo\n{model.describe()}", elem_id="about")
        if model.kind == logic.TRANSLATOR:
            _translator_page(gr, model, workdir)
        else:
            _generator_page(gr, model, workdir)
    return app


def _condition_controls(gr, metas):
    controls = []
    with gr.Row():
        for m in metas:
            kind = logic.control_for(m)
            eid = f"cond-{m['name']}"
            if kind == "dropdown":
                controls.append(gr.Dropdown([logic.MIXED] + list(m["classes"]), value=logic.MIXED, label=m["name"],
                                            info="'mixed': balanced over the classes", elem_id=eid))
            elif kind == "checkbox":
                controls.append(gr.Checkbox(value=True, label=f"{m['name']} (on/off)", elem_id=eid))
            else:
                controls.append(gr.CheckboxGroup(list(m["classes"]), value=[m["classes"][0]], label=m["name"],
                                                 info="none checked = all off", elem_id=eid))
    return controls


def _generator_page(gr, model, workdir: Path):
    metas = model.metas
    with gr.Row():
        seed = gr.Number(value=0, precision=0, minimum=0, label="seed", elem_id="seed",
                         info="image i uses latent seed SEED*100000+i, as `cli.py sample --seed`")
        new = gr.Button("new seeds", elem_id="new-seeds")
        n = gr.Slider(1, logic.MAX_COLUMNS, value=16, step=1, label="grid size (images; per row when varying)",
                      elem_id="grid-size")
    psi = None
    if model.decode is not None:  # truncation needs z in (serving_default)
        psi = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="truncation psi (1 = none; lower = cleaner, less varied)",
                        elem_id="truncation")
    controls = _condition_controls(gr, metas) if metas else []
    vary = None
    if metas:
        vary = gr.Dropdown([logic.NO_VARY] + [m["name"] for m in metas], value=logic.NO_VARY,
                           label="vary this condition (one row per class, same seeds in every row)", elem_id="vary")
    go = gr.Button("generate", variant="primary", elem_id="generate")
    grid = gr.Image(label="samples (download: PNG)", format="png", type="filepath", interactive=False,
                    buttons=["download", "fullscreen"], height=420, elem_id="grid")
    caption = gr.Markdown(elem_id="caption")

    def generate(seed_v, n_v, *rest):
        psi_v, rest = (rest[0], rest[1:]) if psi is not None else (1.0, rest)
        choices, vary_v = (list(rest[:-1]), rest[-1]) if metas else (None, None)
        g, images, text = logic.generate_grid(model, seed_v, n_v, choices, vary_v, truncation=psi_v)
        k = logic.display_scale(images.shape[1], MIN_CELL)
        if k > 1:
            text += f"; shown {k}x (nearest), {images.shape[2]}x{images.shape[1]} px each"
        return _write_output(workdir, "grid.png", logic.display(logic.enlarge(g, k))), text

    def new_seeds():
        return logic.new_seed()

    inputs = [seed, n] + ([psi] if psi is not None else []) + [*controls] + ([vary] if vary is not None else [])
    go.click(_guard(generate), inputs, [grid, caption], api_name="generate", preprocess=False)
    new.click(new_seeds, None, seed, api_name="new_seed").then(
        _guard(generate), inputs, [grid, caption], api_name="generate_new", preprocess=False)

    if model.decode is None:
        return
    gr.Markdown("### interpolation\nFrom the first image of seed A's grid to that of seed B's (conditions as "
                "chosen above, a mixed one at its first class), through the export's `serving_default`.")
    with gr.Row():
        seed_a = gr.Number(value=0, precision=0, minimum=0, label="seed A", elem_id="seed-a")
        seed_b = gr.Number(value=1, precision=0, minimum=0, label="seed B", elem_id="seed-b")
        steps = gr.Slider(2, 32, value=10, step=1, label="steps", elem_id="steps")
        method = gr.Radio(["slerp", "linear"], value="slerp", label="method", elem_id="method")
    go_i = gr.Button("interpolate", elem_id="interpolate")
    strip = gr.Image(label="strip (download: PNG)", format="png", type="filepath", interactive=False,
                     buttons=["download", "fullscreen"], elem_id="strip")
    gif = gr.File(label="animated GIF", interactive=False, elem_id="gif")

    def interpolate(a, b, s, meth, *choices):
        from keras_gans.core.images import make_grid

        frames = logic.interpolation_frames(model, a, b, s, meth, list(choices) if metas else None)
        path = workdir / f"interpolation_{logic.parse_seed(a)}_{logic.parse_seed(b)}_{meth}.gif"
        atomic_write_bytes(path, logic.gif_bytes(frames))
        k = logic.display_scale(frames.shape[1], MIN_CELL)
        strip_png = _write_output(workdir, "strip.png", logic.display(logic.enlarge(make_grid(frames, nrow=len(frames)), k)))
        return strip_png, str(path)

    go_i.click(_guard(interpolate), [seed_a, seed_b, steps, method, *controls], [strip, gif], api_name="interpolate",
               preprocess=False)


def _translator_page(gr, model, workdir: Path):
    choices = [(model.direction_labels.get(d, d), d) for d in model.directions]
    with gr.Row():
        direction = gr.Radio(choices, value=model.directions[0], label="direction", elem_id="direction",
                             info="the export's `directions` signature says which side is the photo")
    with gr.Row():
        photo = gr.Image(label="photo (any size)", type="filepath", sources=["upload", "clipboard"], elem_id="photo")
        out = gr.Image(label="translated (download: PNG)", format="png", type="filepath", interactive=False,
                       buttons=["download", "fullscreen"], elem_id="translated")
    go = gr.Button("translate", variant="primary", elem_id="translate")
    caption = gr.Markdown(elem_id="caption")

    def translate(image, d):
        path = _upload_path(image)
        try:
            y, notes = logic.translate_file(model, path, d)
        finally:
            _remove_upload(path)  # the request is done with its upload: nothing is kept until the server stops
        label = model.direction_labels.get(d, d)
        text = f"{label}: {y.size[0]}x{y.size[1]} -> {y.size[0]}x{y.size[1]} pixels"
        if notes:
            text += "; note: " + "; ".join(notes)
        return _write_output(workdir, "translated.png", y), text

    go.click(_guard(translate), [photo, direction], [out, caption], api_name="translate", preprocess=False)


class UserErrorsAre400:
    """ASGI middleware: Gradio answers a failed call of its synchronous API (POST /gradio_api/run/NAME, .../api/NAME)
    with HTTP 500 whatever the cause; a request the user got wrong (our gr.Error titled USER_ERROR_TITLE) becomes 400,
    with the same one-line message. Only those small JSON answers are held back; everything else passes as is."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        import re

        if scope.get("type") != "http" or scope.get("method") != "POST" or not re.search(
                r"/(run|api)/[^/]+/?$", scope.get("path", "")):
            return await self.app(scope, receive, send)
        held = {}

        async def send_or_hold(message):
            if message["type"] == "http.response.start" and message.get("status") == 500:
                held["start"] = dict(message)
                return
            if message["type"] == "http.response.body" and "start" in held:
                start = held.pop("start")
                if f'"title":"{USER_ERROR_TITLE}"'.encode() in message.get("body", b"").replace(b'": "', b'":"'):
                    start["status"] = 400
                await send(start)
            await send(message)

        await self.app(scope, receive, send_or_hold)


def _unknown_api(request, exc):
    """An API call to a name the page does not have: 404 with the names it has (Gradio answered 500)."""
    from fastapi.responses import JSONResponse

    log_line(f"{request.url.path}: {exc}")
    return JSONResponse({"error": f"{exc}; see /gradio_api/info for the API names this page has"}, status_code=404)


def serve(model: logic.DemoModel, port: int = 7860, block: bool = True, max_upload_mb: float = MAX_UPLOAD_MB):
    """Serve the page on http://127.0.0.1:PORT/ (blocking unless block=False; returns the app)."""
    gr = import_gradio()
    from gradio.route_utils import FnIndexInferError
    from starlette.middleware import Middleware

    if not max_upload_mb > 0:
        raise UserError(f"--max-upload-mb must be > 0, got {max_upload_mb}")
    workdir = Path(tempfile.mkdtemp(prefix="keras_gans_demo_"))
    atexit.register(shutil.rmtree, workdir, True)
    os.environ["GRADIO_TEMP_DIR"] = str(workdir / "gradio")  # Gradio's copies of shown images; removed at exit
    app = build_app(model, workdir)
    app.queue(default_concurrency_limit=1)  # one TensorFlow call at a time: the CPU is the bottleneck anyway
    theme = gr.themes.Default(font=FONTS, font_mono=MONO)
    if block:  # `kill PID` stops like Ctrl+C, so the temporary folder is removed
        import signal

        def _stop(signum, frame):
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, _stop)
    try:  # quiet: the command prints its own address; no "set share=True" hint for a page that never shares
        app.launch(server_name="127.0.0.1", server_port=int(port), share=False, inbrowser=False, ssr_mode=False,
                   prevent_thread_lock=not block, theme=theme, css=CSS, footer_links=[], quiet=True,
                   show_error=True, max_file_size=int(max_upload_mb * 1024 * 1024),
                   app_kwargs={"exception_handlers": {FnIndexInferError: _unknown_api},
                               "middleware": [Middleware(UserErrorsAre400)]},
                   allowed_paths=[str(workdir)])
    except OSError as e:
        raise UserError(f"cannot serve on 127.0.0.1:{port} ({e}); choose another with --port N") from None
    return app
