"""`python cli.py transfer PRESET|RUN|EXPORT --input FILE_OR_DIR --output DIR`: apply a trained image translator
(any family that declares the TRANSLATOR capability, models/capabilities.py) to images. This command names no
family: it asks the model (or the export's signatures) for its directions and its translation.

Every input keeps its size and aspect: it is resized (aspect kept, shorter side = the model's training size, both
sides multiples of 4) for the generator, which is fully convolutional, and the result is resized back to the
input's exact width and height. Outputs keep the input's base name and relative folder; JPEG and PNG inputs keep
their format, other formats are written as PNG (or choose with --format).

Photos larger than PHOTO_MAX_PIXELS (1 megapixel) are decoded reduced (JPEG: at a smaller DCT scale) and the result
is scaled back to the file's size in uint8, so the peak memory stays under 1 GB; the largest input accepted is
TRANSFER_MAX_PIXELS (40 megapixels, e.g. 7700 x 5200); a larger one is skipped with that reason. Every output goes through the one image writer (keras_gans.core.io_utils.save_image):
whole or not at all.

Exit status: 0 when every input was transferred; 2 when an input could not be read or transferred (each is named
on stderr as it is skipped, and all the good outputs are still written), when the output folder cannot be written
(checked once, before the model loads; a disk that fills mid-way stops at once, naming the file), or on bad usage;
1 on a bug.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from keras_gans.commands.common import is_export
from keras_gans.core.errors import UserError

WRITE_AS = {".jpg": ".jpg", ".jpeg": ".jpeg", ".png": ".png"}


def _quiet_load(name: str) -> dict:
    import warnings

    from keras_gans.config.loader import load_config

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_config(name)


def translator_presets(suffix: str = "") -> list[str]:
    """The presets (ending with `suffix`) whose family declares TRANSLATOR."""
    from keras_gans.config.loader import list_presets
    from keras_gans.models import family_has
    from keras_gans.models.capabilities import TRANSLATOR

    out = []
    for p in list_presets():
        if p.endswith(suffix):
            try:
                if family_has(_quiet_load(p)["model"], TRANSLATOR):
                    out.append(p)
            except UserError:
                continue
    return out


def first_registered(presets: list[str]) -> str:
    """Of several translator presets FAMILY_NAME for one short NAME (cyclegan_ukiyoe, cut_ukiyoe, ...), the one whose
    family was registered first (models.FAMILIES order): `transfer ukiyoe` keeps meaning the same model when a
    family is added."""
    from keras_gans.models import FAMILIES

    order = list(FAMILIES)
    return min(presets, key=lambda p: (order.index(_quiet_load(p)["model"]), p))


def resolve_preset(name: str) -> dict:
    """PRESET may be a translator's preset name, its short form without the family (FAMILY_ukiyoe for `ukiyoe`; of
    several, the first family registered) or a YAML path."""
    from keras_gans.config.loader import load_config
    from keras_gans.models import family_has
    from keras_gans.models.capabilities import TRANSLATOR

    try:
        cfg = load_config(name)
    except UserError as first:
        found = translator_presets(f"_{name}")
        if not found:
            raise first from None
        cfg = load_config(first_registered(found))
    if not family_has(cfg["model"], TRANSLATOR):
        raise UserError(f"preset '{name}' is a {cfg['model']} model; transfer needs a translator preset "
                        f"({', '.join(translator_presets())}), a translator's run or its export")
    return cfg


def resolve_source(preset: str, run_dir: str | None, model_dir: str | None):
    """(preset config or None, run_dir, model_dir): PRESET may also be a run directory or an export itself."""
    p = Path(preset)
    if p.is_dir() and ((p / "config.yaml").is_file() or is_export(p)):
        if run_dir or model_dir:
            raise UserError(f"{preset} is a run or an export already; drop --run / --model")
        if (p / "config.yaml").is_file():
            return None, str(p), None
        return None, None, str(p)
    return resolve_preset(preset), run_dir, model_dir


def list_inputs(path: Path) -> list[tuple[Path, Path]]:
    """(input file, its path relative to the input root) for a file or every image below a folder."""
    from keras_gans.data.images import find_images

    if path.is_file():
        return [(path, Path(path.name))]
    return [(Path(p), Path(p).relative_to(path)) for p in find_images(path)]


def output_name(rel: Path, fmt: str) -> Path:
    if fmt == "png":
        return rel.with_suffix(".png")
    if fmt == "jpg":
        return rel.with_suffix(".jpg")
    return rel.with_suffix(WRITE_AS.get(rel.suffix.lower(), ".png"))


SHIPPED = Path(__file__).resolve().parents[2] / "saved_models"  # the trained exports that ship with the repo


def default_export(cfg: dict, preset: str) -> Path | None:
    """The export `transfer PRESET` uses without --run/--model: the newest in ./saved_models/NAME (what
    `export RUN` publishes), else the one shipped in the repository's saved_models/ (found from any folder)."""
    from keras_gans.models import without_family

    names = [cfg["name"], preset, without_family(cfg["name"]) or cfg["name"]]
    for base in (Path(cfg["callbacks"]["export_dir"] or "saved_models"), SHIPPED):
        for name in dict.fromkeys(names):
            p = base / name
            if p.is_dir() and is_export(p):
                return p
    return None


def resolve_direction(direction: str, photo_domain: str) -> str:
    """auto / to-style -> photo -> style; to-photo -> back; a2b / b2a as given."""
    from keras_gans.models.translator import style_directions

    d = style_directions(photo_domain)
    return {"auto": d["photo2style"], "to-style": d["photo2style"], "to-photo": d["style2photo"]}.get(direction, direction)


def load_translator(cfg: dict | None, run_dir: str | None, model_dir: str | None, direction: str, preset: str = ""):
    """(function uint8 [1, H, W, C] -> uint8 [1, H, W, C], channels, description of the model used, direction).
    cfg: the preset's config (None when PRESET was the run or the export itself)."""
    if run_dir and model_dir:
        raise UserError("pass either --run or --model, not both")
    if run_dir:
        from keras_gans.training.build import load_run
        from keras_gans.models.capabilities import TRANSLATOR, require

        run_cfg, model, epoch = load_run(run_dir)
        require(model, TRANSLATOR, "transfer")
        direction = resolve_direction(direction, model.direction_meta()["photo_domain"])
        if direction not in model.translator_directions:
            raise UserError(f"{run_dir} translates {' and '.join(model.translator_directions)} only, not {direction}")
        return (lambda x: model.transfer(x, direction)), int(model.image_shape[-1]), f"run {run_dir} (epoch {epoch})", direction
    if not model_dir:
        default = default_export(cfg, preset)
        if default is None:
            raise UserError(
                f"no trained model for preset '{cfg['name']}' (no export in saved_models/{cfg['name']}); train one with "
                f"`python cli.py train {cfg['name']} --data DIR`, or pass --run RUN_DIR or --model EXPORT_DIR"
            )
        model_dir = str(default)
    import tensorflow as tf

    from keras_gans.export.savedmodel import load_export, read_json_signature

    loaded = load_export(model_dir)
    if "directions" in loaded.signatures:
        photo_domain = read_json_signature(loaded.signatures, "directions")["photo_domain"]
    elif cfg is not None:  # exports written before the `directions` signature: the preset says which side is the photo
        from keras_gans.models import family_class

        photo_domain = family_class(cfg["model"]).photo_domain(cfg)
    else:
        photo_domain = "A"
    direction = resolve_direction(direction, photo_domain)
    if direction not in loaded.signatures:
        raise UserError(f"{model_dir} has no '{direction}' signature: is it an image translator's export?")
    sig = loaded.signatures[direction]
    channels = int(sig.structured_input_signature[1]["images"].shape[-1])
    return (lambda x: sig(images=tf.constant(x))["images"].numpy()), channels, f"export {model_dir}", direction


def check_output_folder(out: Path) -> None:
    """Create --output and make sure a file can be written there: one line for the whole folder, not one per photo."""
    import tempfile

    from keras_gans.core.io_utils import disk_error

    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out, prefix=".probe.tmp-"):
            pass
    except OSError as e:
        info = disk_error(e)
        reason, fix = (info["reason"], info["fix"]) if info else (e.strerror or str(e), "choose another --output")
        raise UserError(f"cannot write to --output {out}: {reason}; {fix}") from None


def transfer_file(path: Path, translate, channels: int):
    """(result as a PIL image at the file's own size, notes on what the conversion dropped) for one input file.
    Memory stays bounded: the photo is decoded at most PHOTO_MAX_PIXELS big and the result scaled back in uint8."""
    from keras_gans.data.images import (PHOTO_MAX_PIXELS, TRANSFER_MAX_PIXELS, dropped_notes, open_image,
                                        restore_size, to_array)

    img = open_image(str(path), max_pixels=PHOTO_MAX_PIXELS, max_input_pixels=TRANSFER_MAX_PIXELS)
    notes = dropped_notes(img)
    size = img.info["original_size"]
    image = to_array(img, channels)
    del img
    return restore_size(translate(image[None])[0], size), notes


@click.command()
@click.argument("preset", metavar="PRESET|RUN|EXPORT")
@click.option("--input", "input_path", required=True, type=click.Path(exists=True), help="An image file or a folder (recursive).")
@click.option("--output", "output_dir", required=True, type=click.Path(file_okay=False), help="Folder for the results.")
@click.option("--run", "run_dir", type=click.Path(exists=True, file_okay=False), help="Use this training run's checkpoint.")
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False),
              help="Use this SavedModel export (a version folder, an export base NAME/, or a run's own RUN/export).")
@click.option("--direction", type=click.Choice(["auto", "to-style", "to-photo", "a2b", "b2a"]), default="auto",
              show_default=True, help="auto / to-style: photo -> style (the side the model's photo_domain names is "
              "the photo side); to-photo: back; a2b / b2a: by folder side.")
@click.option("--format", "fmt", type=click.Choice(["same", "png", "jpg"]), default="same", show_default=True,
              help="same: JPEG stays JPEG, PNG stays PNG, anything else becomes PNG.")
@click.option("--quality", type=click.IntRange(1, 100), default=95, show_default=True, help="JPEG quality.")
def transfer(preset, input_path, output_dir, run_dir, model_dir, direction, fmt, quality):
    """Translate images with a trained image translator at their own size (PRESET: e.g. ukiyoe, or cyclegan; or a
    training run's folder, or an export).

    Without --run/--model the newest export of the preset in ./saved_models/NAME/ is used, else the trained model
    shipped in the repository's saved_models/ (e.g. saved_models/ukiyoe)."""
    cfg, run_dir, model_dir = resolve_source(preset, run_dir, model_dir)
    src, out = Path(input_path), Path(output_dir)
    items = list_inputs(src)
    targets = [(p, out / output_name(rel, fmt)) for p, rel in items]
    clash = [p for p, t in targets if t.resolve() == p.resolve()]
    if clash:
        raise UserError(f"--output {out} would overwrite the input {clash[0]}; choose another output folder")
    check_output_folder(out)
    translate, channels, used, direction = load_translator(cfg, run_dir, model_dir, direction, preset)

    from keras_gans.data.images import BadImage
    from keras_gans.core.io_utils import disk_error, progbar, save_image

    click.echo(f"transferring {len(targets)} image(s) {direction} with {used} -> {out}")
    bar = progbar(len(targets), "image") if len(targets) > 1 else None
    nl = "\n" if bar is not None and sys.stdout.isatty() else ""  # step off the progress bar's line, on a terminal
    written, skipped = 0, []
    for i, (path, target) in enumerate(targets):
        try:
            result, notes = transfer_file(path, translate, channels)
            save_image(target, result, quality=quality)
            written += 1
            if notes:
                click.echo(f"{nl}note: {path}: {'; '.join(notes)}", err=True)
        except (BadImage, OSError, ValueError, MemoryError) as e:
            info = disk_error(e)
            if info is not None:  # a full disk or an unwritable folder fails every later file too: stop here
                raise UserError(f"could not write {info['path'] or target}: {info['reason']}; {written} of "
                                f"{len(targets)} image(s) were written to {out} (each whole), none after it; "
                                f"{info['fix']}, then run the command again") from None
            skipped.append((path, str(e)))
            click.echo(f"{nl}skipped {path}: {e}", err=True)
        except Exception as e:  # a TensorFlow failure on one odd image must not stop the folder
            import tensorflow as tf

            if not isinstance(e, tf.errors.OpError):
                raise
            skipped.append((path, e.message.splitlines()[0]))
            click.echo(f"{nl}skipped {path}: {e.message.splitlines()[0]}", err=True)
        if bar is not None:
            bar.update(i + 1)
    click.echo(f"wrote {written} of {len(targets)} image(s) to {out}")
    if skipped:
        names = ", ".join(str(p) for p, _ in skipped[:5]) + (" ..." if len(skipped) > 5 else "")
        raise UserError(
            f"{len(skipped)} of {len(targets)} input(s) could not be transferred and were skipped ({names}); "
            f"the other {written} were written to {out}"
        )
    sys.stdout.flush()


COMMANDS = (transfer,)  # registered by keras_gans.cli
