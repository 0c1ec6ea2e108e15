"""tf.distribute: MirroredStrategy over 2 logical CPUs equals the default strategy step for step; two local
MultiWorkerMirroredStrategy workers (TF_CONFIG on loopback) train an epoch through keras_gans.training.distributed and
write one checkpoint; and the replica ordering of batches. The trainings run in subprocesses so logical devices and collectives never leak into other tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HELPERS = Path(__file__).resolve().parent / "speed_helpers"


def _result(stdout: str) -> dict:
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, stdout[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


def test_mirrored_step_equals_default_step():
    """One train step, global batch 8: 2 replicas x 4 == 1 device x 8, for DCGAN (BCE, BN) and WGAN-GP (2 D steps)."""
    proc = subprocess.run([sys.executable, str(HELPERS / "mirrored_check.py"), "dcgan,wgan_gp"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = _result(proc.stdout)
    for variant in ("dcgan", "wgan_gp"):
        r = res[variant]
        assert r["replicas"] == 2
        assert r["max_diff"] < 2e-5, (variant, r["worst"], r["max_diff"])
        # a bias right before BatchNorm gets a zero-in-theory gradient; Adam's first step is bounded by ~lr
        assert r["max_diff_degenerate"] <= 2 * 2e-4
        for k in ("d_loss", "g_loss", "d_real", "d_fake"):
            assert r["logs_mirrored"][k] == pytest.approx(r["logs_default"][k], rel=1e-4, abs=1e-5), (variant, k)
    assert res["dcgan"]["n_degenerate"] >= 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # two TF processes: ~60 s on 2 idle cores, more when busy
def test_multiworker_two_local_workers(tmp_path):
    try:
        ports = [_free_port(), _free_port()]
    except OSError as e:
        pytest.skip(f"cannot open loopback ports here: {e}")
    run_dir = tmp_path / "run"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    procs = [
        subprocess.Popen([sys.executable, str(HELPERS / "multiworker_worker.py"), str(run_dir), str(i), *map(str, ports),
                          str(tmp_path / "exports")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for i in range(2)
    ]
    outs = []
    try:
        for p in procs:
            outs.append(p.communicate(timeout=400))
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
        pytest.fail("two-worker training did not finish in 400 s")
    for p, (out, err) in zip(procs, outs):
        if p.returncode and ("Address already in use" in err or "Operation not permitted" in err):
            pytest.skip("this platform does not allow two local gRPC workers on loopback")
        assert p.returncode == 0, err[-3000:]
    results = [_result(out) for out, _ in outs]
    assert [r["replicas"] for r in results] == [2, 2]
    assert [r["step"] for r in results] == [2, 2]  # 1 epoch x 2 steps
    assert results[0]["d_loss"] == results[1]["d_loss"] and len(results[0]["d_loss"]) == 1
    ckpts = sorted(p.name for p in (run_dir / "checkpoints").glob("ckpt-*.index"))
    assert ckpts == ["ckpt-1.index"]
    assert (run_dir / "samples" / "epoch_0001.png").is_file()
    assert len((run_dir / "history.csv").read_text().strip().splitlines()) == 2
    assert not list(run_dir.glob(".worker-*"))  # only the chief writes into the run directory
    assert [p.name for p in (tmp_path / "exports").iterdir()] == ["dcgan"]  # exported once, by the chief
    assert (tmp_path / "exports" / "dcgan" / "1" / "saved_model.pb").is_file()


@pytest.mark.parametrize("replicas,parts", [(2, 2), (2, 3), (4, 2), (1, 5), (3, 1)])
def test_replica_order_gives_each_replica_its_share_of_every_slice(replicas, parts):
    import tensorflow as tf

    from keras_gans.training.distributed import replica_order

    per = 2  # rows per replica per slice
    b = per * replicas * parts
    x = np.arange(b * 3, dtype=np.int32).reshape(b, 3)
    ds = replica_order(tf.data.Dataset.from_tensors({"image": x, "label": np.arange(b)}), replicas, parts)
    got = next(iter(ds))
    labels = got["label"].numpy()
    np.testing.assert_array_equal(got["image"].numpy(), x[labels])
    chunks = labels.reshape(replicas, parts, per)  # replica r's contiguous chunk, cut into its D-step slices
    for r in range(replicas):
        for i in range(parts):
            # under the default strategy slice i is rows [i*B, (i+1)*B), B = per*replicas; replica r holds part r
            start = i * per * replicas + r * per
            np.testing.assert_array_equal(chunks[r, i], np.arange(start, start + per))
