"""Commands of models with an encoder (the ENCODER capability, e.g. the VAE): `latent-map` (2-D t-SNE/PCA map of
the latent means, coloured by a label, with its silhouette score) and `reconstruct` (originals over
reconstructions, and the reconstruction MSE of a folder)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from keras_gans.core.errors import UserError
from keras_gans.models.capabilities import ENCODER, require


def _load_encoder(run: str, command: str):
    from keras_gans.training.build import load_run

    cfg, model, epoch = load_run(run)
    return cfg, require(model, ENCODER, command), epoch


def _load_folder(path: str, model, progress: bool = True):
    from keras_gans.data.source import load_folder

    return load_folder(path, model.image_shape[0], model.image_shape[-1], "skip", progress=progress)


def resolve_labels(paths: list[str], root: str, labels: str | None, attribute: str | None) -> list[str] | None:
    """One label string per image path: its class sub-folder, or its row in a CSV (by relative path, file name or
    stem). With `attribute`, labels become 'ATTRIBUTE' / 'not ATTRIBUTE' by substring match."""
    from keras_gans.data import labels as label_io

    root_p = Path(root)
    if labels in (None, "class-subfolders"):
        out = [label_io.class_folder(p, root_p) for p in paths]
        if labels is None and (any(o is None for o in out) or len(set(out)) < 2):
            return None  # no labels: an uncoloured map
        if any(o is None for o in out):
            raise UserError(f"--labels class-subfolders: images lie directly in {root}, not in class sub-folders")
    else:
        out = label_io.match_rows(paths, root_p, label_io.read_label_rows(Path(labels)))
        missing = sum(o is None for o in out)
        if missing == len(paths):
            raise UserError(
                f"--labels: none of the {len(paths)} images is named in {labels} (rows are matched by relative path, "
                "file name or file name without extension)"
            )
        if missing:
            click.echo(f"warning: {missing} of {len(paths)} images have no row in {labels}; they are left out", err=True)
    if attribute:
        out = [None if o is None else (attribute if attribute in o else f"not {attribute}") for o in out]
    return out


def encode_images(model, images_u8, batch_size: int = 256):
    import numpy as np

    from keras_gans.core.images import from_uint8
    from keras_gans.core.io_utils import progbar

    bar = progbar(len(images_u8), "image") if len(images_u8) > batch_size else None
    mus = []
    for start in range(0, len(images_u8), batch_size):
        x = from_uint8(images_u8[start : start + batch_size])
        mu, _ = model.encode(x, training=False)
        mus.append(np.asarray(mu))
        if bar is not None:
            bar.update(min(len(images_u8), start + batch_size))
    return np.concatenate(mus)


def embed_2d(mu, method: str, seed: int = 0):
    import numpy as np

    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(mu)
    from sklearn.manifold import TSNE

    perplexity = float(min(30.0, max(2.0, (len(mu) - 1) / 3.0)))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(
        np.asarray(mu, np.float64)
    )


def plot_map(points, labels, out: Path, title: str):
    import matplotlib

    matplotlib.use("Agg")

    import matplotlib.pyplot as plt
    import numpy as np

    from keras_gans.core.io_utils import save_figure

    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=5, alpha=0.7)
    else:
        classes = sorted(set(labels), key=lambda s: (not s.isdigit(), int(s) if s.isdigit() else 0, s))
        cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
        labels_arr = np.asarray(labels)
        for i, c in enumerate(classes):
            m = labels_arr == c
            ax.scatter(points[m, 0], points[m, 1], s=5, alpha=0.7, color=cmap(i % cmap.N), label=c)
        if len(classes) <= 20:
            ax.legend(markerscale=3, fontsize=7, loc="best", ncol=2 if len(classes) > 10 else 1)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    save_figure(fig, out, dpi=90)


@click.command("latent-map")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--data", "data_path", type=click.Path(exists=True),
              help="Image folder to encode (default: the run's held-out images, labelled by class sub-folder).")
@click.option("--labels", help="class-subfolders (default when the folder has them) or a CSV of file_or_id,label.")
@click.option("--attribute", help="Colour by presence of this text in the label, e.g. 'blonde hair'.")
@click.option("--out", type=click.Path(dir_okay=False), default="latent_map.png", show_default=True)
@click.option("--method", type=click.Choice(["tsne", "pca"]), default="tsne", show_default=True)
@click.option("--n", type=click.IntRange(10, 100000), default=2000, show_default=True, help="Images (a random subset).")
@click.option("--seed", type=int, default=0, show_default=True)
def latent_map(run, data_path, labels, attribute, out, method, n, seed):
    """2-D map (t-SNE or PCA) of a VAE's latent means of the images in --data, coloured by label; prints the
    silhouette score of the map by label (in [-1, 1]; higher = classes better separated)."""
    import numpy as np

    cfg, model, epoch = _load_encoder(run, "latent-map")
    if data_path:
        image_set = _load_folder(data_path, model)
        all_images, all_paths, root = image_set.images, image_set.paths, data_path
    else:
        all_paths = model.data_info.get("holdout_paths")
        if not all_paths:
            raise UserError(f"{run} has no held-out image files to map (trained on a built-in set, or vae.holdout=0); "
                            "pass --data FOLDER")
        all_images, root = model.holdout_images(), os.path.abspath(cfg["data"]["path"])
        all_paths = [os.path.abspath(p) for p in all_paths]
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.permutation(len(all_images))[: min(n, len(all_images))])
    paths = [all_paths[i] for i in idx]
    lab = resolve_labels(paths, root, labels, attribute)
    if lab is not None:
        keep = np.array([x is not None for x in lab])
        idx, lab = idx[keep], [x for x in lab if x is not None]
    images = all_images[idx]
    if len(images) < 10:
        raise UserError(f"latent-map needs at least 10 images, got {len(images)} from {data_path or 'the held-out split'}")
    click.echo(f"encoding {len(images)} images with {run} (epoch {epoch})")
    mu = encode_images(model, images)
    click.echo(f"{method.upper()} of {mu.shape[1]}-d latent means ...")
    points = embed_2d(mu, method, seed)
    title = f"{cfg['name']} epoch {epoch}: {method.upper()} of latent means ({len(images)} images)"
    if lab is not None and 2 <= len(set(lab)) < len(lab):
        from sklearn.metrics import silhouette_score

        s2 = float(silhouette_score(points, lab))
        s_latent = float(silhouette_score(mu, lab))
        title += f"\nsilhouette by label: {s2:.3f} (2-D map), {s_latent:.3f} (latent space)"
        click.echo(f"silhouette score of the 2-D map by label: {s2:.4f} ({len(set(lab))} labels, {len(lab)} points)")
        click.echo(f"silhouette score in the {mu.shape[1]}-d latent space: {s_latent:.4f}")
    elif lab is not None:
        click.echo("only one label among the images: no silhouette score", err=True)
        lab = lab if len(set(lab)) else None
    plot_map(points, lab, Path(out), title)
    click.echo(f"wrote {out}")


@click.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--data", "data_path", type=click.Path(exists=True),
              help="Image folder to reconstruct (default: the run's held-out images).")
@click.option("--n", type=click.IntRange(1, 1024), default=16, show_default=True, help="Images in the grid.")
@click.option("--out", type=click.Path(dir_okay=False), default="reconstructions.png", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Which images go into the grid.")
def reconstruct(run, data_path, n, out, seed):
    """Originals over their VAE reconstructions (decoder(mu)), and the reconstruction MSE over all images
    (per pixel value in [-1, 1]; /4 for [0, 1] units)."""
    import numpy as np

    from keras_gans.core.images import save_png
    from keras_gans.metrics.reconstruction import reconstruction_mse

    cfg, model, epoch = _load_encoder(run, "reconstruct")
    if data_path:
        images, where = _load_folder(data_path, model).images, data_path
    else:
        images, where = model.holdout_images(), f"the {run} held-out split"
        if not len(images):
            raise UserError(f"{run} kept no held-out images (vae.holdout=0); pass --data FOLDER")
    mse = reconstruction_mse(model, images)
    pick = np.sort(np.random.default_rng(seed).permutation(len(images))[: min(n, len(images))])
    save_png(out, model.reconstruction_grid(images[pick]))
    click.echo(f"reconstruction MSE on {len(images)} images of {where}: {mse:.5f} ([-1, 1] pixels; "
               f"{mse / 4:.5f} in [0, 1] units), epoch {epoch}")
    click.echo(f"wrote {out}")


COMMANDS = (latent_map, reconstruct)  # registered by keras_gans.cli
