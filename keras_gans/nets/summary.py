"""A net's layer table as numbers (for `python cli.py nets`, its tests and docs/nets.md): one row per layer with
its type, the settings a paper's figure shows (filters or units, kernel, strides, padding, dropout rate, batch-norm
momentum, activation), its output shape and its parameter count."""

from __future__ import annotations

import keras

COLUMNS = ("name", "type", "settings", "output", "params")


def _shape(t) -> tuple:
    return tuple(t.shape[1:])


def _output_shape(layer):
    try:
        out = layer.output
    except (AttributeError, ValueError):  # a layer used more than once: no single output
        return None
    if isinstance(out, (list, tuple)):
        return [_shape(o) for o in out]
    if isinstance(out, dict):
        return {k: _shape(o) for k, o in out.items()}
    return _shape(out)


def layer_row(layer) -> dict:
    """{name, type, filters, units, kernel, strides, padding, rate, momentum, activation, output, params}."""
    inner, wrapper = layer, None
    if isinstance(layer, keras.layers.SpectralNormalization):
        inner, wrapper = layer.layer, "SN"
    cfg = inner.get_config()
    kind = type(inner).__name__
    if kind == "FusedBatchNormalization":  # the same layer on TF's fused kernel (nets/fused_bn.py)
        kind = "BatchNormalization"
    row = {"name": inner.name if wrapper else layer.name, "type": f"{wrapper}({kind})" if wrapper else kind,
           "layer": kind, "spectral_norm": wrapper == "SN", "output": _output_shape(layer), "params": int(layer.count_params())}
    for key, src in (("filters", "filters"), ("units", "units"), ("kernel", "kernel_size"), ("strides", "strides"),
                     ("padding", "padding"), ("rate", "rate"), ("momentum", "momentum"), ("size", "size"),
                     ("interpolation", "interpolation"), ("pool", "pool_size"), ("slope", "negative_slope"),
                     ("target_shape", "target_shape"), ("num_tokens", "num_tokens")):
        if key == "momentum" and kind != "BatchNormalization":
            continue
        if key in ("kernel", "strides", "padding") and not kind.startswith("Conv"):
            continue
        if key == "slope" and kind != "LeakyReLU":
            continue
        if src in cfg:
            v = cfg[src]
            row[key] = tuple(v) if isinstance(v, list) else v
    if kind in ("Activation", "Dense", "Conv2D", "Conv2DTranspose"):
        act = cfg.get("activation")
        if act and act != "linear":
            row["activation"] = act
    if kind == "ReLU":
        row["activation"] = "relu"
    if kind == "LeakyReLU":
        row["activation"] = "leaky_relu"
    return row


def _settings(row: dict) -> str:
    parts = []
    for key in ("filters", "units"):
        if key in row:
            parts.append(str(row[key]))
    if "kernel" in row:
        k = row["kernel"]
        parts.append(f"k{k[0]}" if k[0] == k[1] else f"k{k[0]}x{k[1]}")
    if "strides" in row:
        s = row["strides"]
        parts.append(f"s{s[0]}" if s[0] == s[1] else f"s{s[0]}x{s[1]}")
    if "padding" in row:
        parts.append(row["padding"])
    if "rate" in row:
        parts.append(f"rate {row['rate']:g}")
    if "momentum" in row:
        parts.append(f"momentum {row['momentum']:g}")
    if row["layer"] == "UpSampling2D":
        parts.append(f"x{row['size'][0]} {row.get('interpolation', '')}".strip())
    if "pool" in row:
        parts.append(f"pool {row['pool'][0]}")
    if "slope" in row:
        parts.append(f"slope {row['slope']:g}")
    if "num_tokens" in row:
        parts.append(f"{row['num_tokens']} classes")
    if "activation" in row and row["layer"] not in ("ReLU", "LeakyReLU"):
        parts.append(row["activation"])
    return " ".join(parts)


def trainable_count(model: keras.Model) -> int:
    """Trainable parameters: the count PyTorch's sum(p.numel() for p in net.parameters()) gives, as the reports
    quote it (batch norm's moving mean and variance and spectral norm's power-iteration vectors are buffers there,
    counted by Keras' count_params)."""
    return sum(int(keras.ops.size(w)) for w in model.trainable_weights)


def header(name: str, model: keras.Model) -> str:
    """'generator (3,824,000 parameters; 3,822,080 trainable)', the trainable part only where the two differ."""
    total, trainable = int(model.count_params()), trainable_count(model)
    extra = f"; {trainable:,} trainable" if trainable != total else ""
    return f"{name} ({total:,} parameters{extra})"


def net_table(model: keras.Model) -> list[dict]:
    """One row per layer of a functional model (inputs included), in build order."""
    rows = []
    for layer in model.layers:
        row = layer_row(layer)
        row["settings"] = _settings(row)
        rows.append(row)
    return rows


def _fmt_shape(s) -> str:
    if isinstance(s, dict):
        return ", ".join(f"{k}: {_fmt_shape(v)}" for k, v in s.items())
    if isinstance(s, list):
        return ", ".join(_fmt_shape(v) for v in s)
    if s is None:
        return "-"
    return "x".join("?" if d is None else str(d) for d in s) if s else "scalar"


def format_table(rows: list[dict], trainable: int | None = None) -> str:
    """A plain-text table (name, type, settings, output shape, parameters) and the total (with the trainable part,
    the reports' count, where given and different)."""
    cells = [("layer", "type", "settings", "output", "params")]
    for r in rows:
        cells.append((r["name"], r["type"], r["settings"], _fmt_shape(r["output"]), f"{r['params']:,}"))
    widths = [max(len(c[i]) for c in cells) for i in range(5)]
    lines = []
    for j, c in enumerate(cells):
        lines.append("  ".join(c[i].rjust(widths[i]) if i == 4 else c[i].ljust(widths[i]) for i in range(5)).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    total = sum(r["params"] for r in rows)
    lines.append(f"total parameters: {total:,}")
    if trainable is not None and trainable != total:
        lines.append(f"trainable parameters: {trainable:,} (the count PyTorch reports; the other {total - trainable:,} "
                     "are state, not weights: batch norm's moving means and variances, spectral norm's vectors)")
    return "\n".join(lines)
