"""`python cli.py demo EXPORT_OR_RUN [--port 7860]`: a local web page (Gradio) over any generator export."""

from __future__ import annotations

import click



@click.command()
@click.argument("source", metavar="EXPORT_OR_RUN", type=click.Path(exists=True, file_okay=False))
@click.option("--port", type=click.IntRange(1, 65535), default=7860, show_default=True,
              help="Serve on http://127.0.0.1:PORT/ (this machine only).")
@click.option("--max-upload-mb", type=click.FloatRange(min=0.001), default=25, show_default=True,
              help="Largest upload accepted (a bigger one is refused with HTTP 413); each upload is deleted once used.")
def demo(source, port, max_upload_mb):
    """A web page over an export (or a run's export): seeds and conditions -> image grids, interpolation and GIF;
    CycleGAN: upload a photo, get it translated. Needs the demo extra: pip install -e ".[demo]"."""
    from keras_gans.demo.app import import_gradio, serve
    from keras_gans.demo.logic import load_model

    import_gradio()  # a missing extra is reported before TensorFlow loads the model
    model = load_model(source)
    click.echo(f"serving {model.describe()}")
    click.echo(f"open http://127.0.0.1:{port}/ (Ctrl+C stops)")
    serve(model, port, max_upload_mb=max_upload_mb)


COMMANDS = (demo,)  # registered by keras_gans.cli
