"""`python cli.py nets PRESET [--set KEY=VALUE ...]`: print the nets a preset builds (the nets each family declares
in `net_names`: G and D; an encoder and a decoder; a translator's generators and discriminators), layer by layer with output shapes and parameter counts,
from the config alone: no data is read and nothing is trained. The image size, channels and conditions come from
the preset (docs/nets.md)."""

from __future__ import annotations

import click

from keras_gans.commands.common import cli_overrides
from keras_gans.core.errors import UserError

BUILTIN_CHANNELS = {"digits": 1, "mnist": 1, "faces": 3, "shapes": 3, "scenes": 3}
def data_info_from_config(cfg: dict) -> dict:
    """The data_info a model needs, from the config alone: image shape (channels from data.channels or the
    built-in set; 3 for a folder of unknown channels) and, for conditional models, each head's classes."""
    d = cfg["data"]
    size = int(d["image_size"])
    channels = d["channels"] or (BUILTIN_CHANNELS.get(d["builtin"], 3) if not d["path"] else 3)
    info = {"image_shape": [size, size, int(channels)], "n_images": 0}
    from keras_gans.models import family_has
    from keras_gans.models.capabilities import CONDITIONAL

    if family_has(cfg["model"], CONDITIONAL):
        from keras_gans.parts.conditioning import head_specs

        conditions = []
        for s in head_specs(cfg):
            classes = s["classes"]
            if classes is None and d["builtin"] == "digits" and not d["path"]:
                classes = 10
            if classes is None:
                raise UserError(f"head '{s['name']}' does not declare its classes; the net's size depends on them: "
                                f"--set conditional.heads=... with classes: K (or a list of names)")
            names = [str(i) for i in range(classes)] if isinstance(classes, int) else list(classes)
            conditions.append({"name": s["name"], "type": s["type"], "classes": names})
        info["conditions"] = conditions
    return info


def build_from_config(cfg: dict):
    """(model, {name: keras sub-model}) built in float32 from the config alone."""
    import keras

    from keras_gans.models import create_model

    keras.mixed_precision.set_global_policy("float32")
    cfg = dict(cfg, train=dict(cfg["train"], strategy="default"))
    model = create_model(cfg, data_info_from_config(cfg))
    return model, model.sub_models()


def heads_note(model) -> str | None:
    """What D's outputs mean, as the conditional model says it (`heads_note`); None for other models."""
    from keras_gans.models.capabilities import CONDITIONAL, has

    return model.heads_note() if has(model, CONDITIONAL) else None


@click.command("nets")
@click.argument("preset")
@click.option("--set", "set_items", multiple=True, metavar="KEY=VALUE", help="Override any config key, as in train.")
def nets_command(preset, set_items):
    """Print PRESET's nets layer by layer (types, settings, output shapes, parameters) without data or training."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from keras_gans.config.loader import load_config
    from keras_gans.nets.summary import format_table, header, net_table, trainable_count

    cfg = load_config(preset, cli_overrides(set_items))
    model, subs = build_from_config(cfg)
    shape = "x".join(map(str, data_info_from_config(cfg)["image_shape"]))
    from keras_gans.models.capabilities import LATENT, has

    latent = f", latent {cfg['net']['latent_dim']}" if has(model, LATENT) else ""
    click.echo(f"{cfg['name']} ({cfg['model']}), images {shape}{latent}")
    for name, m in subs.items():
        click.echo("\n" + header(name, m))
        click.echo(format_table(net_table(m), trainable_count(m)))
        if name == "discriminator":
            note = heads_note(model)
            if note:
                click.echo(note)


COMMANDS = (nets_command,)  # registered by keras_gans.cli
