"""The multi-label evaluator of the i-CLEVR lab: top-k score, label-set files, requests for any head layout,
train-classifier --multilabel, evaluate --label-sets (score + 8x4 grid) and label_score over training."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from tests.conftest import shared_data, tiny_config

def test_topk_score_is_the_lab_evaluators_count():
    from keras_gans.metrics.scores import topk_hits, topk_score
    from keras_gans.metrics.scores import multilabel_accuracy

    scores = np.array([[0.9, 0.8, 0.1, 0.0],   # asks a, b: top-2 = a, b -> 2 hits
                       [0.9, 0.1, 0.8, 0.0],   # asks b, c: top-2 = a, c -> 1 hit
                       [0.1, 0.2, 0.3, 0.9],   # asks a: top-1 = d -> 0 hits
                       [0.5, 0.5, 0.5, 0.5]])  # asks nothing: not counted
    targets = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]], np.float32)
    hits, asked = topk_hits(scores, targets)
    assert hits.tolist() == [2, 1, 0, 0] and asked.tolist() == [2, 2, 1, 0]
    assert topk_score(scores, targets) == pytest.approx(3 / 5)
    assert multilabel_accuracy(scores, targets) == pytest.approx(3 / 5)  # the older helper agrees
    # a perfect classifier scores 1 whatever the order of its scores among the asked labels
    assert topk_score(targets * 5 + scores * 0.1, targets) == 1.0


def test_label_set_files(tmp_path):
    from keras_gans.metrics.multilabel import read_label_sets

    (tmp_path / "sets.json").write_text(json.dumps([["Red cube"], ["blue sphere", "gray cube"]]))
    assert read_label_sets(tmp_path / "sets.json") == [["red cube"], ["blue sphere", "gray cube"]]
    (tmp_path / "train.json").write_text(json.dumps({"a.png": ["red cube"], "b.png": ["cyan cylinder", "red cube"]}))
    assert read_label_sets(tmp_path / "train.json") == [["red cube"], ["cyan cylinder", "red cube"]]
    (tmp_path / "tags.csv").write_text("1,light blue hair red eyes\n2,blonde hair blue eyes\n")
    assert read_label_sets(tmp_path / "tags.csv", ["hair", "eyes"]) == [["light blue hair", "red eyes"],
                                                                       ["blonde hair", "blue eyes"]]
    (tmp_path / "attrs.csv").write_text("image_id,Smiling,Male,Young\n1.png,1,-1,1\n2.png,-1,-1,-1\n")
    assert read_label_sets(tmp_path / "attrs.csv") == [["smiling", "young"], []]
    (tmp_path / "bad.json").write_text("{\"a\": 3}")
    from keras_gans.core.errors import UserError

    with pytest.raises(UserError, match="not a list of names"):
        read_label_sets(tmp_path / "bad.json")


def test_real_iclevr_label_sets_map_onto_a_24_label_head():
    from keras_gans.data.labels import read_objects_json
    from keras_gans.metrics.multilabel import read_label_sets, requests_for_sets, targets_for_sets

    root = shared_data("iclevr-labels")
    vocab = read_objects_json(root / "objects.json")
    for name in ("test.json", "new_test.json"):
        sets = read_label_sets(root / name)
        assert len(sets) == 32 and all(1 <= len(s) <= 3 for s in sets)
        req = requests_for_sets([{"name": "labels", "type": "sigmoid", "classes": vocab}], sets)
        assert req["labels"].shape == (32, 24)
        np.testing.assert_array_equal(req["labels"].sum(1), [len(s) for s in sets])
        np.testing.assert_array_equal(req["labels"], targets_for_sets(vocab, sets))
        first = sets[0]
        assert sorted(np.flatnonzero(req["labels"][0])) == sorted(vocab.index(o) for o in first)


def test_requests_for_softmax_and_binary_heads():
    from keras_gans.core.errors import UserError
    from keras_gans.metrics.multilabel import requests_for_sets

    metas = [{"name": "hair", "type": "softmax", "classes": ["blonde", "red", "light blue"]},
             {"name": "eyes", "type": "softmax", "classes": ["blue", "red"]},
             {"name": "smiling", "type": "sigmoid", "classes": ["smiling"]}]
    req = requests_for_sets(metas, [["red hair", "blue eyes", "smiling"], ["light blue hair", "red eyes"]])
    assert req["hair"].tolist() == [1, 2] and req["eyes"].tolist() == [0, 1]
    assert req["smiling"].tolist() == [[1.0], [0.0]]  # asked for in the first set only
    with pytest.raises(UserError, match="green hair"):
        requests_for_sets(metas, [["green hair"]])


@pytest.fixture(scope="module")
def shapes_run(tmp_path_factory):
    """Procedural shapes in the i-CLEVR layout (data make shapes), a multi-label classifier on them, and a tiny
    multi-label ACGAN trained 2 epochs that logs label_score on the real test.json each epoch."""
    from keras_gans.cli import main
    from keras_gans.training.driver import train

    labels = shared_data("iclevr-labels")
    root = tmp_path_factory.mktemp("shapes")
    r = CliRunner().invoke(main, ["data", "make", "shapes", "--out", str(root / "data"), "--n", "96", "--size", "16"])
    assert r.exit_code == 0, r.output
    clf = root / "clf.keras"
    r = CliRunner().invoke(main, ["train-classifier", "--multilabel", "--data", str(root / "data"), "--out", str(clf),
                                  "--image-size", "16", "--epochs", "1", "--batch-size", "32"])
    assert r.exit_code == 0, r.output
    cfg = tiny_config(model="acgan", data={"path": str(root / "data"), "channels": 3},
                      conditional={"mode": "acgan", "heads": [{"name": "labels", "type": "sigmoid"}]},
                      eval={"every": 1, "fid": False, "label_sets": str(labels / "test.json"), "classifier": str(clf)})
    cfg["train"]["epochs"] = 2
    cfg["train"]["steps_per_epoch"] = 2
    cfg["callbacks"]["log_every"] = 1  # steps.csv rows, so curves.png is drawn over steps with an evaluation panel
    run = root / "run"
    train(cfg, run, verbose=0)
    return run, clf, labels


def test_train_classifier_multilabel_writes_its_vocabulary(shapes_run):
    _, clf, labels = shapes_run
    meta = json.loads(clf.with_suffix(".json").read_text())
    objects = json.loads((labels / "objects.json").read_text())
    assert meta["multilabel"] is True and meta["classes"] == sorted(objects, key=objects.get)
    assert 0.0 <= meta["test_accuracy"] <= 1.0 and meta["n_train"] + meta["n_test"] == 96
    import keras

    assert keras.models.load_model(clf, compile=False).get_layer("probs").activation.__name__ == "sigmoid"


def test_label_score_over_training_in_history_and_curves(shapes_run, tmp_path):
    from keras_gans.training.curves import draw_curves

    run, _, _ = shapes_run
    rows = list(csv.DictReader(open(run / "history.csv")))
    assert len(rows) == 2 and "fid" not in rows[0]
    scores = [float(r["label_score"]) for r in rows]
    assert all(0.0 <= s <= 1.0 for s in scores)
    # the hit count is an integer out of the labels test.json asks for (32 sets of 1-3 objects)
    sets = json.loads((shared_data("iclevr-labels") / "test.json").read_text())
    asked = sum(len(s) for s in sets)
    assert all(abs(s * asked - round(s * asked)) < 1e-3 for s in scores)  # (history.csv keeps 6 digits)
    # curves.png gets an evaluation panel for it: one panel (500 px at 100 dpi) wider than without
    with_eval = Image.open(draw_curves(run, tmp_path / "a.png")).size[0]
    hist = (run / "history.csv").read_text()
    (run / "history.csv").write_text(hist.replace("label_score", "other_col"))
    without = Image.open(draw_curves(run, tmp_path / "b.png")).size[0]
    (run / "history.csv").write_text(hist)
    assert with_eval - without == 500


def test_evaluate_label_sets_score_and_grid(shapes_run, tmp_path):
    from keras_gans.cli import main
    from keras_gans.metrics.features import ClassifierFeatures
    from keras_gans.metrics.multilabel import read_label_sets, targets_for_sets
    from keras_gans.metrics.scores import topk_score
    from keras_gans.training.build import load_run

    run, clf, labels = shapes_run
    grid = tmp_path / "grid.png"
    r = CliRunner().invoke(main, ["evaluate", str(run), "--allow-weak-features", "--label-sets", str(labels / "new_test.json"), "--features",
                                  str(clf), "--grid", str(grid), "--seed", "2"])
    assert r.exit_code == 0, r.output
    ev = json.loads((run / "eval.json").read_text())
    ls = ev["metrics"]["label_sets"]
    sets = read_label_sets(labels / "new_test.json")
    assert ls["n_sets"] == 32 and ls["asked"] == sum(len(s) for s in sets) and ls["sets"] == sets
    assert ls["score"] == pytest.approx(ls["hits"] / ls["asked"]) and 0 <= ls["score"] <= 1
    assert "label_score" in r.output
    # the grid: 32 images of 16 px in 8 columns x 4 rows (2 px padding)
    assert np.asarray(Image.open(grid)).shape[:2] == (4 * 18 + 2, 8 * 18 + 2)
    # the score is the classifier's top-k count on exactly the images in the grid
    _, model, _ = load_run(run)
    cells = np.asarray(Image.open(grid).convert("RGB"))
    images = np.stack([cells[2 + (i // 8) * 18: 2 + (i // 8) * 18 + 16, 2 + (i % 8) * 18: 2 + (i % 8) * 18 + 16]
                       for i in range(32)])
    _, probs = ClassifierFeatures(clf).extract(images)
    vocab = json.loads(clf.with_suffix(".json").read_text())["classes"]
    assert topk_score(probs, targets_for_sets(vocab, sets)) == pytest.approx(ls["score"])
    # repeats: three seeds per set, the score over all 3 x asked labels
    r = CliRunner().invoke(main, ["evaluate", str(run), "--allow-weak-features", "--label-sets", str(labels / "test.json"), "--features",
                                  str(clf), "--repeats", "3"])
    assert r.exit_code == 0, r.output
    ls = json.loads((run / "eval.json").read_text())["metrics"]["label_sets"]
    asked = sum(len(s) for s in read_label_sets(labels / "test.json"))
    assert ls["repeats"] == 3 and ls["asked"] == 3 * asked and len(ls["per_repeat"]) == 3
    assert (run / "label_sets.png").is_file()


def test_evaluate_label_sets_errors(shapes_run, tmp_path):
    from keras_gans.cli import main

    run, clf, labels = shapes_run
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([["red cube", "pink pyramid"]]))
    for args, msg in (
        (["--label-sets", str(bad), "--features", str(clf), "--allow-weak-features"], "pink pyramid"),
        (["--label-sets", str(bad), "--features", str(clf)], "--allow-weak-features"),  # a 1-epoch classifier
        (["--label-sets", str(labels / "test.json")], "multi-label classifier"),
        ([], "--data"),
    ):
        r = CliRunner().invoke(main, ["evaluate", str(run), *args])
        assert r.exit_code == 2 and msg in r.output, r.output
