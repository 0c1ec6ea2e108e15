"""The DCGAN nets (Radford et al. 2016) in the course-baseline form our users start from, sized by image_size, and
described layer by layer where a study drew them otherwise (docs/nets.md).

Default plan (every per-layer key None): G: Dense -> s x s x C0 + BN + ReLU, then k x [Conv2DTranspose(k5, s2) +
BN + ReLU], the last one to the image channels with tanh. D mirrors it: k x [Conv2D(k5, s2) + norm +
LeakyReLU(0.2)] (no norm on the first block), then a one-unit head on the flattened features (the same as a 4x4
valid conv head). s is 4..7 so that image_size = s * 2**k (28 -> 7*4, 32 -> 4*8, 64 -> 4*16, 96 -> 6*16,
128 -> 4*32). With dim=64 at 64 px the widths are 512-256-128-64 (G) and 64-128-256-512 (D), the classic baseline.

Per-layer keys (`net.g_filters`, `g_strides`, `g_kernel`, `g_padding`, `g_upsample`, `g_order`, `g_project`,
`g_start`, `g_fc`; `net.d_filters`, `d_strides`, `d_kernel`, `d_padding`, `d_dropout`, `d_norm`, `d_pool`,
`d_order`, `d_fc`, `d_fc_activation`, `d_score_head`; `bn_momentum`, `sn_keeps_norm`, `conv_bias`,
`g_project_act`) take a scalar (every layer) or a YAML list
(one value per layer); a key left None keeps the plan above, so every existing preset builds the same nets.
"""

from __future__ import annotations

from keras import layers

from keras_gans.core.errors import UserError
from keras_gans.nets.blocks import activation, initializer, maybe_sn, norm_layer

ORDERS = ("norm-act", "act-norm")


def upsampling_plan(image_size: int) -> tuple[int, int]:
    """(start size s, number of stride-2 layers k) with image_size = s * 2**k and s in 4..7."""
    k, s = 0, image_size
    while s % 2 == 0 and s // 2 >= 4:
        s //= 2
        k += 1
    if k == 0:
        raise ValueError(f"image_size {image_size} cannot be reached by stride-2 upsampling from 4..7 px")
    return s, k


def _get(cfg_net: dict, key: str, default=None):
    v = cfg_net.get(key)
    return default if v is None else v


def per_layer(cfg_net: dict, key: str, n: int, default, what: str) -> list:
    """A scalar (every layer) or a list of exactly n values -> a list of n values."""
    v = cfg_net.get(key)
    if v is None:
        return [default] * n
    if isinstance(v, (list, tuple)):
        if len(v) != n:
            raise UserError(f"net.{key} lists {len(v)} values for {what}; give one value per layer or a single "
                            "value for all")
        return list(v)
    return [v] * n


def _list_len(cfg_net: dict, keys) -> int | None:
    for k in keys:
        v = cfg_net.get(k)
        if isinstance(v, (list, tuple)):
            return len(v)
    return None


def _check_choice(key, values, allowed):
    for v in values:
        if v not in allowed:
            raise UserError(f"net.{key} must be one of {', '.join(map(str, allowed))} (or a list of them); got {v!r}")


def _positive_ints(key, values):
    for v in values:
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise UserError(f"net.{key} must hold positive integers, got {v!r}")


def _out_size(size: int, stride: int, kernel: int, padding: str, upsample: str) -> int:
    """Side of a G layer's output map."""
    if upsample == "nearest":
        size = size * stride
        return size if padding == "same" else size - kernel + 1
    return size * stride if padding == "same" else (size - 1) * stride + kernel


def generator_plan(cfg_net: dict, image_shape) -> dict:
    """G's layers as numbers: {fc, project, start, blocks: [{filters, stride, kernel, padding}], out: {...}}; the
    last entry of the per-layer lists is the output layer (to the image channels)."""
    size, _, channels = image_shape
    filters = cfg_net.get("g_filters")
    n = len(filters) if isinstance(filters, (list, tuple)) else None
    if n is None:
        m = _list_len(cfg_net, ("g_strides", "g_kernel", "g_padding"))
        n = m - 1 if m is not None else None
    planned = n is None
    if planned:
        s, k = upsampling_plan(size)
        n = k - 1
    if n < 0:
        raise UserError("net.g_strides/g_kernel/g_padding lists need at least one value (the output layer)")
    dim = int(cfg_net["dim"])
    filters = list(filters) if filters is not None else [dim * 2 ** (n - 1 - i) for i in range(n)]
    what = f"G's {n + 1} conv layers ({n} hidden blocks + the output layer)"
    strides = per_layer(cfg_net, "g_strides", n + 1, 2, what)
    kernels = per_layer(cfg_net, "g_kernel", n + 1, cfg_net["kernel_size"], what)
    paddings = per_layer(cfg_net, "g_padding", n + 1, "same", what)
    _positive_ints("g_filters", filters)
    _positive_ints("g_strides", strides)
    _positive_ints("g_kernel", kernels)
    _check_choice("g_padding", paddings, ("same", "valid"))
    upsample = _get(cfg_net, "g_upsample", "transpose")
    _check_choice("g_upsample", [upsample], ("transpose", "nearest"))
    _check_choice("g_order", [_get(cfg_net, "g_order", "norm-act")], ORDERS)
    project = cfg_net.get("g_project")
    if project is None:
        project = 2 * filters[0] if filters else dim
    start = cfg_net.get("g_start")
    if start is None:
        if project == 0:
            start = 1
        elif planned:
            start = s
        else:
            prod = 1
            for st in strides:
                prod *= st
            if "valid" in paddings or size % prod:
                raise UserError(f"net.g_start is needed: G's strides {strides} (paddings {paddings}) do not divide "
                                f"image_size {size} into a start size; set net.g_start to the side of G's first map")
            start = size // prod
    if project == 0 and start != 1:
        raise UserError("net.g_project=0 feeds z to the first conv as a 1x1 map: net.g_start must be 1 (or null)")
    blocks, cur = [], start
    for i in range(n + 1):
        cur = _out_size(cur, strides[i], kernels[i], paddings[i], upsample)
        blocks.append({"filters": filters[i] if i < n else channels, "stride": strides[i], "kernel": kernels[i],
                       "padding": paddings[i], "size": cur})
    if cur != size:
        sizes = " -> ".join([str(start)] + [str(b["size"]) for b in blocks])
        raise UserError(f"G's layers give {cur} px images, not data.image_size {size} (sides {sizes}); change "
                        "net.g_start, g_strides, g_kernel or g_padding")
    fc = list(cfg_net.get("g_fc") or [])
    _positive_ints("g_fc", fc)
    return {"fc": fc, "project": int(project), "start": int(start), "blocks": blocks[:-1], "out": blocks[-1],
            "upsample": upsample}


def generator_trunk(z, cfg_net: dict, image_shape: tuple[int, int, int], sync_bn: bool = False):
    """DCGAN generator layers applied to the (already conditioned) latent tensor z; returns the image tensor."""
    plan = generator_plan(cfg_net, image_shape)
    init = initializer(cfg_net["weights_init"])
    use_bn = cfg_net["g_norm"] == "batch"
    act_first = _get(cfg_net, "g_order", "norm-act") == "act-norm"
    momentum = float(_get(cfg_net, "bn_momentum", 0.9))
    no_conv_bias = cfg_net.get("conv_bias") is False  # PyTorch's bias=False on every conv (the i-CLEVR lab)
    bias = (not use_bn or act_first) and not no_conv_bias  # a bias right before batch norm is cancelled by it

    def norm_act(x, name):
        if act_first:
            x = layers.ReLU(name=f"{name}_relu")(x)
            return norm_layer("batch", sync_bn, name=f"{name}_bn", momentum=momentum)(x) if use_bn else x
        if use_bn:
            x = norm_layer("batch", sync_bn, name=f"{name}_bn", momentum=momentum)(x)
        return layers.ReLU()(x)

    dense_bias = not use_bn or act_first
    x = z
    for i, units in enumerate(plan["fc"]):
        x = layers.Dense(units, use_bias=dense_bias, kernel_initializer=init, name=f"g_fc{i + 1}")(x)
        x = norm_act(x, f"g_fc{i + 1}")
    s, width = plan["start"], plan["project"]
    if width == 0:  # z (with its labels) is the 1x1 map the first conv reads, as in the PyTorch DCGANs
        x = layers.Reshape((1, 1, x.shape[-1]), name="g_z_map")(x)
    elif _get(cfg_net, "g_project_act", True) is False:  # a plain Linear, straight into the first conv
        x = layers.Dense(s * s * width, use_bias=True, kernel_initializer=init, name="g_project")(x)
        x = layers.Reshape((s, s, width))(x)
    else:
        x = layers.Dense(s * s * width, use_bias=dense_bias, kernel_initializer=init, name="g_project")(x)
        x = layers.Reshape((s, s, width))(x)
        x = norm_act(x, "g_project")
    nearest = plan["upsample"] == "nearest"

    def conv(x, b, name, use_bias, **kw):
        if nearest:
            if b["stride"] > 1:
                x = layers.UpSampling2D(b["stride"], interpolation="nearest", name=f"{name}_upsample")(x)
            return layers.Conv2D(b["filters"], b["kernel"], padding=b["padding"], use_bias=use_bias,
                                 kernel_initializer=init, name=name, **kw)(x)
        return layers.Conv2DTranspose(b["filters"], b["kernel"], strides=b["stride"], padding=b["padding"],
                                      use_bias=use_bias, kernel_initializer=init, name=name, **kw)(x)

    for i, b in enumerate(plan["blocks"]):
        x = conv(x, b, f"g_up{i + 1}", bias)
        x = norm_act(x, f"g_up{i + 1}")
    x = conv(x, plan["out"], "g_out", not no_conv_bias)
    return layers.Activation("tanh", dtype="float32", name="image")(x)


def discriminator_plan(cfg_net: dict, size: int) -> list[dict]:
    """D's conv layers as numbers: [{filters, stride, kernel, padding, norm, dropout, pool}]."""
    filters = cfg_net.get("d_filters")
    n = len(filters) if isinstance(filters, (list, tuple)) else _list_len(
        cfg_net, ("d_strides", "d_kernel", "d_padding", "d_dropout", "d_norm", "d_pool"))
    if n is None:
        _, n = upsampling_plan(size)
    dim = int(cfg_net["dim"])
    filters = list(filters) if filters is not None else [dim * 2**i for i in range(n)]
    what = f"D's {n} conv layers"
    strides = per_layer(cfg_net, "d_strides", n, 2, what)
    kernels = per_layer(cfg_net, "d_kernel", n, cfg_net["kernel_size"], what)
    paddings = per_layer(cfg_net, "d_padding", n, "same", what)
    dropouts = per_layer(cfg_net, "d_dropout", n, 0.0, what)
    pools = per_layer(cfg_net, "d_pool", n, "none", what)
    norm = cfg_net.get("d_norm")
    norms = list(norm) if isinstance(norm, (list, tuple)) else [None] + [norm] * (n - 1)  # first block: no norm
    if len(norms) != n:
        raise UserError(f"net.d_norm lists {len(norms)} values for {what}; give one value per layer or a single value")
    if cfg_net["spectral_norm"] and not cfg_net.get("sn_keeps_norm"):
        norms = [None] * n  # spectral norm replaces D's normalisation unless net.sn_keeps_norm
    norms = [None if v in (None, "none") else v for v in norms]
    _positive_ints("d_filters", filters)
    _positive_ints("d_strides", strides)
    _positive_ints("d_kernel", kernels)
    _check_choice("d_padding", paddings, ("same", "valid"))
    _check_choice("d_pool", [p or "none" for p in pools], ("none", "max", "avg"))
    _check_choice("d_norm", [v or "none" for v in norms], ("none", "batch", "layer", "instance"))
    _check_choice("d_order", [_get(cfg_net, "d_order", "norm-act")], ORDERS)
    for r in dropouts:
        if not isinstance(r, (int, float)) or not 0 <= r < 1:
            raise UserError(f"net.d_dropout must hold rates in [0, 1), got {r!r}")
    out, cur = [], size
    for i in range(n):
        cur = -(-cur // strides[i]) if paddings[i] == "same" else (cur - kernels[i]) // strides[i] + 1
        if pools[i] not in (None, "none"):
            cur //= 2
        if cur < 1:
            raise UserError(f"D's layer {i + 1} would shrink {size} px images below 1 px; use fewer layers or "
                            "smaller strides")
        out.append({"filters": filters[i], "stride": strides[i], "kernel": kernels[i], "padding": paddings[i],
                    "norm": norms[i], "dropout": float(dropouts[i]), "pool": pools[i] or "none", "size": cur})
    return out


def discriminator_features(x, cfg_net: dict, sync_bn: bool = False):
    """D's conv blocks: (the last feature map, the flat features the heads read, after any net.d_fc layers)."""
    plan = discriminator_plan(cfg_net, x.shape[1])
    init = initializer(cfg_net["weights_init"])
    sn, pit = cfg_net["spectral_norm"], cfg_net["sn_power_iterations"]
    act_first = _get(cfg_net, "d_order", "norm-act") == "act-norm"
    momentum = float(_get(cfg_net, "bn_momentum", 0.9))
    for i, b in enumerate(plan):
        name = f"d_conv{i + 1}"
        conv = layers.Conv2D(b["filters"], b["kernel"], strides=b["stride"], padding=b["padding"],
                             use_bias=cfg_net.get("conv_bias") is not False, kernel_initializer=init, name=name)
        x = maybe_sn(conv, sn, pit)(x)
        norm = norm_layer(b["norm"], sync_bn, name=f"{name}_norm", momentum=momentum) if b["norm"] else None
        if norm is not None and not act_first:
            x = norm(x)
        x = activation(cfg_net["d_activation"])(x)
        if b["dropout"]:
            x = layers.Dropout(b["dropout"])(x)
        if norm is not None and act_first:
            x = norm(x)
        if b["pool"] == "max":
            x = layers.MaxPooling2D(2, name=f"{name}_pool")(x)
        elif b["pool"] == "avg":
            x = layers.AveragePooling2D(2, name=f"{name}_pool")(x)
    fmap = x
    x = layers.Flatten(name="d_features")(x)
    fc_act = cfg_net.get("d_fc_activation") or cfg_net["d_activation"]
    for i, units in enumerate(cfg_net.get("d_fc") or []):
        x = maybe_sn(layers.Dense(units, kernel_initializer=init, name=f"d_fc{i + 1}"), sn, pit)(x)
        x = activation(fc_act, name=f"d_fc{i + 1}_act")(x)
    return fmap, x


def discriminator_trunk(x, cfg_net: dict, sync_bn: bool = False):
    """DCGAN discriminator conv blocks; returns the flattened features (the heads are added by the model)."""
    return discriminator_features(x, cfg_net, sync_bn)[1]
