"""SavedModel exports in the layout TF Serving loads: BASE/NAME/VERSION/ (saved_model.pb + variables/).

Training writes its export into the run (RUN/export/VERSION); publishing to a shared saved_models/NAME/ happens
only on request (`export RUN`, or the callbacks.export_dir key), so a throwaway run never becomes the version TF
Serving serves. `find_export` turns a run, an export base or a version folder into the SavedModel folder.

Built with Keras 3's `keras.export.ExportArchive`, which keeps our input names and dtypes and lets each family
declare named signatures (`serving_default`, `generate`, ...) with named outputs (`images`, `image_bytes`).
The folder is written under a temporary name and renamed, so TF Serving never sees half an export.
"""

from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf

from keras_gans.core.errors import UserError
from keras_gans.core.io_utils import atomic_dir


def next_version(base: Path) -> int:
    versions = [int(p.name) for p in base.glob("*") if p.is_dir() and p.name.isdigit()]
    return max(versions, default=0) + 1


def export_model(model, out_dir: str | Path = "saved_models", name: str | None = None, version: int | None = None) -> Path:
    """Write model's signatures to out_dir/name/version and return that path."""
    name = name or model.cfg["name"]
    base = Path(out_dir) / name
    version = int(version) if version is not None else next_version(base)
    if version < 1:
        raise UserError(f"export version must be a positive integer, got {version}")
    path = base / str(version)
    archive = keras.export.ExportArchive()
    model.export_endpoints(archive)
    _save_each_variable_once(archive)
    with atomic_dir(path) as tmp:
        archive.write_out(str(tmp), verbose=False)
    return path


def _newest_version(base: Path) -> Path | None:
    """base/N with the highest N that holds a whole SavedModel (what TF Serving would serve)."""
    versions = sorted((int(p.name) for p in base.glob("*") if p.is_dir() and p.name.isdigit()), reverse=True)
    return next((base / str(v) for v in versions if (base / str(v) / "saved_model.pb").is_file()), None)


def find_export(path: str | Path) -> Path:
    """The SavedModel folder that `path` names: a version folder (holds saved_model.pb), an export base NAME/ with
    numbered versions (the newest whole one), or a run directory: RUN/export.json (its path, absolute or relative
    to the run), else the newest RUN/export/N, else the run config's callbacks.export_dir/NAME (where runs made
    before RUN/export/ existed exported). The one resolver for sample, transfer, evaluate and the demo; raises
    UserError saying what to do when there is none; reads only the file system."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"{p} does not exist; pass a run directory or a SavedModel export folder (saved_models/NAME)")
    if not p.is_dir():
        raise UserError(f"{p} is a file; pass a run directory or a SavedModel export folder (saved_models/NAME)")
    if (p / "saved_model.pb").is_file():
        return p
    newest = _newest_version(p)
    if newest is not None:
        return newest
    if (p / "config.yaml").is_file() or (p / "export.json").is_file() or (p / "export").is_dir():
        record = _read_record(p)
        cands = [p / "export" / str(record["version"])] if "version" in record else []
        if record.get("path"):
            target = Path(record["path"])
            cands += [target] if target.is_absolute() else [p / target, target]
        for cand in cands:
            found = cand if (cand / "saved_model.pb").is_file() else (_newest_version(cand) if cand.is_dir() else None)
            if found is not None:
                return found
        for base in (p / "export", _legacy_export_base(p)):
            newest = _newest_version(base) if base is not None and base.is_dir() else None
            if newest is not None:
                return newest
        raise UserError(f"the run {p} has no export yet; write one with `python cli.py export {p} --out DIR` "
                        "(or train with callbacks.export_at_end=true)")
    raise UserError(f"{p} is neither a SavedModel export (no saved_model.pb, no numbered versions) nor a run "
                    "directory (no config.yaml)")


def _legacy_export_base(run_dir: Path) -> Path | None:
    """callbacks.export_dir/NAME from RUN/config.yaml, or None."""
    import yaml

    try:
        cfg = yaml.safe_load((run_dir / "config.yaml").read_text()) or {}
        return Path(cfg["callbacks"]["export_dir"]) / cfg["name"]
    except Exception:  # no config, no key, null export_dir: no legacy place to look
        return None


def _read_record(run_dir: Path) -> dict:
    import json

    try:
        record = json.loads((run_dir / "export.json").read_text())
        return record if isinstance(record, dict) else {}
    except (OSError, ValueError):
        return {}


def export_to_run(model, run_dir: str | Path, epoch: int, publish_dir: str | Path | None = None,
                  publish_version: int | None = None) -> dict:
    """The run's own export: RUN/export/VERSION (TF Serving layout; the next free version, or none when the newest
    already holds this epoch), recorded in RUN/export.json. With publish_dir (the callbacks.export_dir key) a copy
    also goes to publish_dir/NAME/VERSION, the folder a TF Serving instance may watch. Returns the record."""
    import json
    import shutil

    from keras_gans.core.io_utils import atomic_write_text

    run_dir = Path(run_dir)
    record = _read_record(run_dir)
    own = run_dir / "export" / str(record.get("version", ""))
    up_to_date = record.get("epoch") == int(epoch) and (own / "saved_model.pb").is_file()
    if up_to_date:
        path = own  # this epoch is exported already (a repeated --resume of a finished run)
    else:
        path = export_model(model, run_dir, "export")
        record = {"path": str(path.resolve()), "version": int(path.name), "epoch": int(epoch)}
    if publish_dir and not (up_to_date and record.get("published") and Path(record["published"]).is_dir()):
        base = Path(publish_dir) / model.cfg["name"]
        version = int(publish_version) if publish_version is not None else next_version(base)
        target = base / str(version)
        with atomic_dir(target) as tmp:
            shutil.copytree(path, tmp, dirs_exist_ok=True)
        record["published"] = str(target.resolve())
    atomic_write_text(run_dir / "export.json", json.dumps(record, indent=1))
    return record


def _save_each_variable_once(archive):
    """Keras 3.15's ExportArchive saves every tracked variable twice: the Keras variable and the tf.Variable the
    endpoints capture (measured: a 6.3 MB generator became a 12.6 MB export). Keep only the captured ones — the
    signatures and their outputs are unchanged (pixel-equal, tested), the export half the size. Guarded: if the
    private hook is gone in a later Keras, the export is written as before."""
    hook = getattr(archive, "_filter_and_track_resources", None)
    if hook is None:
        return

    def once():
        hook()
        for key in ("variables", "trainable_variables", "non_trainable_variables"):
            if hasattr(archive._tf_trackable, key):
                setattr(archive._tf_trackable, key, [])

    archive._filter_and_track_resources = once


def load_export(path: str | Path):
    return tf.saved_model.load(str(find_export(path)))


# ----- TF Serving's REST rules, and bringing older exports up to them ----------------------------------------------
def read_json_signature(signatures, name: str):
    """The parsed JSON of metadata signature `name` (`conditions`, `directions`), or None when the export has none.
    Reads both forms: `request` int32 [batch] -> `json` [batch] (this version) and the no-input, scalar form of
    exports written before it."""
    import json

    if name not in signatures:
        return None
    fn = signatures[name]
    specs = fn.structured_input_signature[1]
    out = fn(**{k: tf.zeros([1] * len(s.shape), s.dtype) for k, s in specs.items()})["json"].numpy()
    return json.loads(out if isinstance(out, bytes) else out[0])


def rest_problems(signatures) -> list[str]:
    """Why TF Serving's REST API (tensorflow_serving/util/json_tensor.cc) would refuse a signature, one line each;
    [] when every signature is servable. Its rules: at least one input ("Failed to get input map for signature"),
    every input batched along dimension 0 (the `instances` rows are stacked there), every output of rank >= 1 ("has
    no shape information" in the row form) and all outputs with the same batch dimension (`predictions` rows)."""
    problems = []
    for name, fn in sorted(signatures.items()):
        specs = fn.structured_input_signature[1]
        if not specs:
            problems.append(f"{name}: no input (TF Serving: 'Failed to get input map for signature')")
        for key, spec in sorted(specs.items()):
            if spec.shape.rank is None or spec.shape.rank == 0 or spec.shape[0] is not None:
                problems.append(f"{name}: input {key} {spec.shape} is not batched along dimension 0")
        outputs = fn.structured_outputs
        for key, out in sorted(outputs.items()):
            if out.shape.rank is None or out.shape.rank == 0:
                problems.append(f"{name}: output {key} {out.shape} has no batch dimension (row form: "
                                "'has no shape information')")
            elif out.shape[0] is not None:
                problems.append(f"{name}: output {key} {out.shape} has a fixed first dimension, not the batch")
    return problems


def upgrade_export(source: str | Path, dest: str | Path | None = None,
                   unseen: dict[str, list[str]] | None = None) -> tuple[Path, list[str]]:
    """Rewrite an existing export (a version folder, or a base's newest version) with this version's signature set,
    without its run: every signature keeps its name, inputs and outputs and calls the export's own function (so
    its pixels are those of the old export, bit for bit); the no-input metadata signatures (`conditions`,
    `directions` before this version) become batched: `request` int32 [batch] -> the same values, one row each.
    dest: the version folder to write (default: the source's own, replaced atomically). Other files in the
    version folder (ONNX, LiteRT) are copied. unseen: {condition: [classes]} to mark in the `conditions` metadata as
    classes G's input has but no training image had (`sample` then warns when one is asked for); the export's
    computation is unchanged. Returns (the folder written, the names of the signatures changed)."""
    import shutil

    from keras_gans.models.signatures import JSON_INPUT

    src = find_export(source)
    dest = Path(dest) if dest is not None else src
    loaded = tf.saved_model.load(str(src))
    module, signatures, changed, captured = tf.Module(), {}, [], {}
    marked = _mark_unseen(loaded.signatures, unseen) if unseen else None
    for name, fn in loaded.signatures.items():
        specs = fn.structured_input_signature[1]
        if name == "conditions" and marked is not None:
            wrapped = tf.function(_rows_of({"json": tf.constant(marked)}), input_signature=[JSON_INPUT])
            changed.append(name)
        elif specs:
            order = _positional_order(loaded, name, specs)
            wrapped = tf.function(_calling(fn, order),
                                  input_signature=[tf.TensorSpec(specs[k].shape, specs[k].dtype, name=k) for k in order])
        else:  # metadata computed from nothing: the same values, one row per request
            values = {k: tf.constant(v.numpy()) for k, v in fn().items()}
            wrapped = tf.function(_rows_of(values), input_signature=[JSON_INPUT])
            changed.append(name)
        signatures[name] = wrapped.get_concrete_function()
        setattr(module, name, wrapped)
        captured.update({id(v): v for v in fn.variables})
    module.saved_variables = list(captured.values())  # each weight once, as the endpoints capture them
    with atomic_dir(dest) as tmp:
        tf.saved_model.save(module, str(tmp), signatures=signatures)
        problems = rest_problems(tf.saved_model.load(str(tmp)).signatures)
        if problems:  # (a signature with a scalar output of its own: nothing to batch it by)
            raise UserError(f"{src} cannot be made servable over REST: {'; '.join(problems)}")
        for extra in src.iterdir():
            if extra.is_file() and extra.name not in ("saved_model.pb", "fingerprint.pb"):
                shutil.copy2(extra, tmp / extra.name)
    return dest, sorted(changed)


def _mark_unseen(signatures, unseen: dict[str, list[str]]) -> str:
    """The `conditions` JSON with `unseen` classes marked; one clear line for a name or class the export lacks."""
    import json

    metas = read_json_signature(signatures, "conditions")
    if metas is None:
        raise UserError("--unseen: this export has no conditions (it is not a conditional export)")
    by_name = {m["name"]: m for m in metas}
    for cond, classes in unseen.items():
        if cond not in by_name:
            raise UserError(f"--unseen: no condition '{cond}'; conditions: {', '.join(by_name)}")
        missing = [c for c in classes if c not in by_name[cond]["classes"]]
        if missing:
            raise UserError(f"--unseen: {cond} has no class {', '.join(missing)}; "
                            f"its classes: {', '.join(by_name[cond]['classes'])}")
        by_name[cond]["unseen"] = sorted(set(by_name[cond].get("unseen") or []) | set(classes),
                                         key=by_name[cond]["classes"].index)
    return json.dumps(metas)


def _positional_order(loaded, name: str, specs: dict) -> list[str]:
    """The input names in the order the export's own attribute function takes them (ExportArchive endpoints are
    positional: generate(seed, hair, eyes)); sorted when the export does not say."""
    try:
        args = getattr(loaded, name).concrete_functions[0].structured_input_signature[0]
        order = [s.name for s in args]
        if sorted(order) == sorted(specs):
            return order
    except Exception:  # no attribute function, or one of another shape: the signature's own (sorted) order
        pass
    return sorted(specs)


def _calling(fn, order):
    return lambda *args: fn(**dict(zip(order, args)))


def _rows_of(values: dict):
    def rows(request):
        n = tf.shape(request)[:1]
        return {k: tf.repeat(v[None], n, axis=0) for k, v in values.items()}

    return rows
