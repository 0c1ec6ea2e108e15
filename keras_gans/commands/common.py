"""What several commands share: --set/--data/... flags -> config overrides, and telling an export from a run.
Lives here, not in cli.py, so that no command module imports cli.py (cli.py imports and registers them)."""

from __future__ import annotations

from pathlib import Path

FLAG_KEYS = {
    "data": "data.path", "epochs": "train.epochs", "batch_size": "train.batch_size", "seed": "train.seed",
    "strategy": "train.strategy",
}


def cli_overrides(set_items, **flags) -> dict:
    """{config key: value} from --set KEY=VALUE items and the named shortcut flags (None = not given)."""
    from keras_gans.config.loader import parse_override

    out = dict(parse_override(s) for s in set_items)
    for k, v in flags.items():
        if v is not None:
            out[FLAG_KEYS[k]] = v
    return out


def is_export(path: Path) -> bool:
    """A SavedModel folder, or a folder of numbered SavedModel versions (TF Serving's layout)."""
    path = Path(path)
    return (path / "saved_model.pb").is_file() or any(
        (p / "saved_model.pb").is_file() for p in path.glob("*") if p.name.isdigit()
    )
