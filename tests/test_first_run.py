"""The first ten minutes (issue 29): sample grids a person can read at their natural size, and a terminal that shows
only our own lines (TensorFlow's start-up logging kept off stderr, bad input answered with exactly one line)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_grid_cells_enlarged_nearest_neighbour_with_thin_separators():
    from keras_gans.core.images import cell_scale, make_grid

    rng = np.random.default_rng(0)
    digits = rng.integers(0, 256, (6, 28, 28, 1), dtype=np.uint8)
    grid = make_grid(digits, nrow=3, min_cell=64)
    # 28 px -> x3 = 84 px cells (the smallest whole factor reaching 64), separators still 2 px
    assert grid.shape == (2 * 86 + 2, 3 * 86 + 2, 1)
    cell = grid[2 + 86 : 2 + 86 + 84, 2 + 2 * 86 : 2 + 2 * 86 + 84, 0]  # row 2, column 3: image 5
    np.testing.assert_array_equal(cell, np.kron(digits[5, ..., 0], np.ones((3, 3), np.uint8)))
    assert (grid[86:88, :, 0] == 255).all() and (grid[:, 86:88, 0] == 255).all()  # a thin white separator
    # min_cell 0 = the raw size; images already >= min_cell are left as they are
    assert make_grid(digits, nrow=3, min_cell=0).shape == (2 * 30 + 2, 3 * 30 + 2, 1)
    big = rng.integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)
    np.testing.assert_array_equal(make_grid(big, min_cell=64), make_grid(big))
    assert [cell_scale(s, s, 64) for s in (8, 16, 28, 32, 33, 64, 128)] == [8, 4, 3, 2, 2, 1, 1]
    assert cell_scale(16, 16, 0) == 1


def _run(args, env=None, cwd=ROOT):
    env = {**os.environ, **(env or {}), "PYTHONPATH": str(ROOT)}
    for k in ("TF_CPP_MIN_LOG_LEVEL", "KERAS_GANS_VERBOSE"):  # as a new user's shell: neither set
        if k not in (env or {}):
            env.pop(k, None)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


def test_filtered_stderr_drops_tensorflow_start_up_lines_and_keeps_the_rest():
    code = ("import os\nfrom keras_gans.core import quiet\nwith quiet.filtered_stderr():\n"
            "    os.write(2, b'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\\n')\n"
            "    os.write(2, b'I0000 00:00:1796656049.560317    5949 port.cc:153] oneDNN custom operations are on.\\n')\n"
            "    os.write(2, b'W0000 00:00:1796656049.560317    5949 cpu_feature_guard.cc:227] This TensorFlow binary\\n')\n"
            "    os.write(2, b'a real problem\\n')\n")
    r = _run(["-c", code])
    assert r.returncode == 0 and r.stderr == "a real problem\n", r.stderr


def test_bad_input_is_exactly_one_stderr_line_on_sample_train_transfer(tmp_path):
    """Each of these fails after TensorFlow is imported: without the quiet import its 4 log lines came first."""
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not an image")
    cases = [
        (["sample", str(empty)], "is not a run directory"),
        (["train", "dcgan", "--data", str(empty)], "no images found"),
        (["transfer", "ukiyoe", "--input", str(ROOT / "README.md"), "--output", str(tmp_path / "o"), "--model", str(empty)],
         "is neither a SavedModel export"),
    ]
    for args, words in cases:
        r = _run([str(ROOT / "cli.py"), *args])
        lines = r.stderr.splitlines()
        assert r.returncode == 2 and len(lines) == 1, (args, r.stderr)
        assert lines[0].startswith("error: ") and words in lines[0], (args, r.stderr)
        assert "absl" not in r.stdout and "oneDNN" not in r.stdout
    # --verbose (or KERAS_GANS_VERBOSE=1) lets TensorFlow's own lines through again: how many there are depends on
    # the CPU (an AVX-512 machine logs oneDNN's line, an AVX2-only Zen 3 none), so only our line is certain
    r = _run([str(ROOT / "cli.py"), "--verbose", "sample", str(empty)])
    assert r.returncode == 2 and r.stderr.splitlines()[-1].startswith("error: ")


def test_legibility_grader_numbers_and_its_data_split():
    """benchmarks/digit_legibility.py: share read with confidence >= 0.9, class histogram, KL to uniform, verdict;
    trained only on MNIST digits the package does not ship."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import digit_legibility as dl

    class Reader:  # logits that read image i as digit label[i], confidently unless its first pixel is dark
        def predict(self, x, batch_size=None, verbose=0):
            x = np.asarray(x)
            logits = np.zeros((len(x), 10), np.float32)
            logits[np.arange(len(x)), np.rint((x[:, 1, 1, 0] + 1) * 4.5).astype(int)] = 1.0
            logits[x[:, 0, 0, 0] > 0] *= 10.0  # softmax max ~ 0.9999 with 10, ~0.23 with 1
            return logits

    labels = np.repeat(np.arange(10), 100)
    images = np.zeros((1000, 28, 28), np.uint8)
    images[:, 1, 1] = np.round(labels / 9 * 255)
    images[:950, 0, 0] = 255  # 95 % confident
    g = dl.grade(Reader(), images)
    assert g["confident_share"] == 0.95 and g["class_share"] == [0.1] * 10 and abs(g["kl_to_uniform"]) < 1e-9
    assert g["passes"]
    images[:, 1, 1] = 255 * (labels >= 5)  # only 0s and 9s read: collapsed to two classes
    g = dl.grade(Reader(), images)
    assert g["class_share"][0] == g["class_share"][9] == 0.5 and abs(g["kl_to_uniform"] - np.log(5)) < 1e-6
    assert not g["passes"] and g["min_class_share"] == 0.0
    if not (dl.MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip("../shared/data/mnist is absent")
    (x, y), (xs, ys) = dl.load_mnist_split()
    assert len(x) == len(xs) == 5000 and np.bincount(ys).tolist() == [500] * 10
    from keras_gans.data.builtin import load_mnist

    shipped = load_mnist().images[..., 0]
    np.testing.assert_array_equal(np.sort(xs.reshape(5000, -1), axis=0), np.sort(shipped.reshape(5000, -1), axis=0))
    assert not {a.tobytes() for a in x} & {b.tobytes() for b in shipped}  # the grader never sees a shipped digit
