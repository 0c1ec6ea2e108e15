"""The Gradio page of `python cli.py demo`: layout and event wiring only; every request goes through
keras_gans.demo.logic. Served on 127.0.0.1, analytics off, no share link; generated files live in a temporary
folder that is deleted when the demo stops (nothing else is written unless the user downloads it)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from keras_gans.demo import logic
from keras_gans.errors import UserError
from keras_gans.io_utils import atomic_write_bytes

INSTALL_HINT = 'the demo needs Gradio: pip install -e ".[demo]"'
# small GAN images: enlarge without blurring; fonts from the system (the page must work offline)
CSS = """
#grid img, #strip img, #translated img { image-rendering: pixelated; width: 100%; height: 100%; object-fit: contain; }
"""
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


def _guard(fn):
    """UserError -> gr.Error: the page shows the one-line message instead of a stack trace."""
    import gradio as gr

    def wrapped(*args):
        try:
            return fn(*args)
        except UserError as e:
            raise gr.Error(str(e)) from None

    wrapped.__name__ = fn.__name__
    return wrapped


def build_app(model: logic.DemoModel, workdir: str | Path | None = None):
    """The gr.Blocks page for one export: generator (latent / conditional) or CycleGAN."""
    gr = import_gradio()
    workdir = Path(workdir or tempfile.mkdtemp(prefix="keras_gans_demo_"))
    with gr.Blocks(title=f"keras_gans demo: {model.name}") as app:
        gr.Markdown(f"## keras_gans demo\n{model.describe()}", elem_id="about")
        if model.kind == "cyclegan":
            _cyclegan_page(gr, model)
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
    controls = _condition_controls(gr, metas) if metas else []
    vary = None
    if metas:
        vary = gr.Dropdown([logic.NO_VARY] + [m["name"] for m in metas], value=logic.NO_VARY,
                           label="vary this condition (one row per class, same seeds in every row)", elem_id="vary")
    go = gr.Button("generate", variant="primary", elem_id="generate")
    grid = gr.Image(label="samples (download: PNG)", format="png", type="numpy", interactive=False,
                    buttons=["download", "fullscreen"], height=420, elem_id="grid")
    caption = gr.Markdown(elem_id="caption")

    def run_grid(seed_v, n_v, *rest):
        choices, vary_v = (list(rest[:-1]), rest[-1]) if metas else (None, None)
        g, _, text = logic.generate_grid(model, seed_v, n_v, choices, vary_v)
        return logic.display(g), text

    inputs = [seed, n, *controls] + ([vary] if vary is not None else [])
    go.click(_guard(run_grid), inputs, [grid, caption])
    new.click(lambda: logic.new_seed(), None, seed).then(_guard(run_grid), inputs, [grid, caption])

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
    strip = gr.Image(label="strip (download: PNG)", format="png", type="numpy", interactive=False,
                     buttons=["download", "fullscreen"], height=160, elem_id="strip")
    gif = gr.File(label="animated GIF", interactive=False, elem_id="gif")

    def run_interp(a, b, s, meth, *choices):
        from keras_gans.images import make_grid

        frames = logic.interpolation_frames(model, a, b, s, meth, list(choices) if metas else None)
        path = workdir / f"interpolation_{logic.parse_seed(a)}_{logic.parse_seed(b)}_{meth}.gif"
        atomic_write_bytes(path, logic.gif_bytes(frames))
        return logic.display(make_grid(frames, nrow=len(frames))), str(path)

    go_i.click(_guard(run_interp), [seed_a, seed_b, steps, method, *controls], [strip, gif])


def _cyclegan_page(gr, model):
    with gr.Row():
        direction = gr.Radio(model.directions, value=model.directions[0], label="direction", elem_id="direction",
                             info="the first choice is photo -> style (the export's `directions` signature says which side is the photo)")
    with gr.Row():
        photo = gr.Image(label="photo (any size)", type="numpy", sources=["upload", "clipboard"], image_mode="RGB",
                         elem_id="photo")
        out = gr.Image(label="translated (download: PNG)", format="png", type="numpy", interactive=False,
                       buttons=["download", "fullscreen"], elem_id="translated")
    go = gr.Button("translate", variant="primary", elem_id="translate")
    caption = gr.Markdown(elem_id="caption")

    def run(image, d):
        if image is None:
            raise UserError("upload a photo first")
        y = logic.translate_image(model, image, d)
        return logic.display(y), f"{d}: {image.shape[1]}x{image.shape[0]} -> {y.shape[1]}x{y.shape[0]} pixels"

    go.click(_guard(run), [photo, direction], [out, caption])


def serve(model: logic.DemoModel, port: int = 7860, block: bool = True):
    """Serve the page on http://127.0.0.1:PORT/ (blocking unless block=False; returns the app)."""
    gr = import_gradio()
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
    try:
        app.launch(server_name="127.0.0.1", server_port=int(port), share=False, inbrowser=False, ssr_mode=False,
                   prevent_thread_lock=not block, theme=theme, css=CSS, footer_links=[], quiet=False,
                   allowed_paths=[str(workdir)])
    except OSError as e:
        raise UserError(f"cannot serve on 127.0.0.1:{port} ({e}); choose another with --port N") from None
    return app
