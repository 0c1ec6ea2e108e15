"""Label sources and condition requests (no TensorFlow): tags CSV, i-CLEVR JSON, class folders, attribute tables."""

from __future__ import annotations

import json

import numpy as np
import pytest

from keras_gans.parts import conditioning
from keras_gans.data import labels as L
from keras_gans.data.procedural import HAIR_COLOURS, HAIR_NAMES, OBJECT_NAMES, load_faces, load_shapes
from keras_gans.core.errors import UserError
from tests.conftest import shared_data

CATS = ["hair", "eyes"]


def _paths(tmp_path, names):
    (tmp_path / "images").mkdir(parents=True, exist_ok=True)
    out = []
    for n in names:
        p = tmp_path / "images" / n
        p.write_bytes(b"")
        out.append(str(p))
    return out


def test_tags_csv_anime_form(tmp_path):
    (tmp_path / "tags.csv").write_text("id,tags\n0,blonde hair blue eyes\n1,light blue hair red eyes\n12,Aqua Hair aqua eyes\n")
    paths = _paths(tmp_path, ["0.jpg", "1.jpg", "00012.jpg"])
    lab = L.load_labels(paths, tmp_path, None, CATS)
    assert lab.names["hair"] == ["aqua", "blonde", "light blue"]
    assert lab.names["eyes"] == ["aqua", "blue", "red"]
    assert lab.arrays["hair"].tolist() == [1, 2, 0]
    assert lab.arrays["eyes"].tolist() == [1, 2, 0]
    assert lab.keep is None


def test_tags_csv_rule_for_missing_and_several_tags(tmp_path):
    (tmp_path / "tags.csv").write_text("a,red hair pink hair blue eyes\nb,green eyes\nc,red hair green eyes\n")
    paths = _paths(tmp_path, ["a.png", "b.png", "c.png"])
    vocab = {"hair": ["pink", "red"], "eyes": ["blue", "green"]}
    lab = L.load_labels(paths, tmp_path, None, CATS, vocab)
    hair = [lab.names["hair"][i] if i >= 0 else None for i in lab.arrays["hair"]]
    assert hair == ["red", None, "red"]  # several: the first; none: -1 and left out
    assert lab.keep.tolist() == [True, False, True]
    assert any("several hair" in n for n in lab.notes) and any("no hair tag" in n for n in lab.notes)
    # 'pink' is only ever a second tag, so no image is labelled pink: the head gets the classes the data has
    # (issue 24: no gray eyes in the anime faces), with a note
    assert lab.names["hair"] == ["red"] and any("pink" in n for n in lab.notes)


def test_tags_csv_errors(tmp_path):
    paths = _paths(tmp_path, ["0.png", "1.png"])
    (tmp_path / "tags.csv").write_text("0,silver hair blue eyes\n1,red hair blue eyes\n")
    with pytest.raises(UserError, match=r"unknown tag 'silver hair'.*known hair tags: red, blonde"):
        L.load_labels(paths, tmp_path, None, CATS, {"hair": ["red", "blonde"], "eyes": None})
    (tmp_path / "tags.csv").write_text("0,red hair blue\n1,red hair blue eyes\n")
    with pytest.raises(UserError, match="line 1.*'blue' is not followed by a category word"):
        L.load_labels(paths, tmp_path, None, CATS)
    (tmp_path / "tags.csv").write_bytes("0,r\xf6d hair blue eyes\n".encode("latin-1"))
    with pytest.raises(UserError, match="not UTF-8 text .*byte 0xf6 on line 1"):
        L.load_labels(paths, tmp_path, None, CATS)
    (tmp_path / "tags.csv").write_text("0,red hair blue eyes\n")
    with pytest.raises(UserError, match=r"1 of 2 images have no row in .*tags.csv \(first: .*1.png\)"):
        L.load_labels(paths, tmp_path, None, CATS)


def test_real_anime_tags():
    root = shared_data("anime-faces")
    from keras_gans.data.images import find_images

    paths = find_images(root)
    lab = L.load_labels(paths, root, None, CATS)
    assert len(lab.names["hair"]) == 12 and len(lab.names["eyes"]) == 10
    counts = np.bincount(lab.arrays["hair"])
    assert counts.sum() == 4760 and counts.min() >= 350


def test_iclevr_json(tmp_path):
    root = shared_data("iclevr-labels")
    vocab = L.read_objects_json(root / "objects.json")
    assert len(vocab) == 24 and vocab[0] == "gray cube" and vocab[23] == "yellow cylinder"
    assert vocab == OBJECT_NAMES  # the procedural shapes use the i-CLEVR order
    mapping = json.loads((root / "train.json").read_text())
    names = list(mapping)[:5]
    paths = _paths(tmp_path, names)
    lab = L.labels_from_iclevr(root / "train.json", paths, tmp_path / "images")
    y = lab.arrays["labels"]
    assert y.shape == (5, 24)
    for row, n in zip(y, names):
        assert sorted(vocab[i] for i in np.nonzero(row)[0]) == sorted(mapping[n])
    # test.json label sets (no files) encode too; an unknown object names the known ones
    sets = json.loads((root / "test.json").read_text())
    assert L.encode_label_sets(sets, vocab).sum(1).tolist() == [len(s) for s in sets]
    with pytest.raises(UserError, match="unknown label 'pink cube'.*known labels: gray cube"):
        L.encode_label_sets([["pink cube"]], vocab)


def test_class_folders_and_attribute_tables(tmp_path):
    for c in ("cat", "dog"):
        (tmp_path / c).mkdir()
        (tmp_path / c / "a.png").write_bytes(b"")
    paths = [str(tmp_path / "cat" / "a.png"), str(tmp_path / "dog" / "a.png")]
    lab = L.load_labels(paths, tmp_path, None, ["label"])
    assert lab.arrays["label"].tolist() == [0, 1] and lab.names["label"] == ["cat", "dog"]

    d = tmp_path / "celeb"
    imgs = _paths(d, ["000001.jpg", "000002.jpg"])
    (d / "list_attr_celeba.txt").write_text("2\nSmiling Male\n000001.jpg  1 -1\n000002.jpg -1  1\n")
    lab = L.load_labels(imgs, d)
    assert lab.names["attributes"] == ["Smiling", "Male"]
    assert lab.arrays["attributes"].tolist() == [[1, 0], [0, 1]]
    (d / "list_attr_celeba.txt").unlink()
    (d / "attributes.csv").write_text("image_id,Smiling\n000001.jpg,1\n000002.jpg,0\n")
    assert L.load_labels(imgs, d).arrays["attributes"][:, 0].tolist() == [1, 0]


def test_procedural_sets_are_deterministic_and_labelled():
    a, b = load_faces(16, n=30, seed=3), load_faces(16, n=30, seed=3)
    assert np.array_equal(a.images, b.images) and a.images.shape == (30, 16, 16, 3)
    assert not np.array_equal(a.images, load_faces(16, n=30, seed=4).images)
    assert a.labels["hair"].tolist()[:13] == list(range(12)) + [0]
    assert a.label_names["hair"] == HAIR_NAMES and len(a.label_names["eyes"]) == 11
    # the hair pixels carry the hair colour: the pixel above the eyes is nearest the requested hair colour
    big = load_faces(64, n=24, seed=1)
    palette = np.array([HAIR_COLOURS[h] for h in HAIR_NAMES], float)
    px = big.images[:, 20, 32].astype(float)
    nearest = np.argmin(((px[:, None] - palette[None]) ** 2).sum(-1), 1)
    assert nearest.tolist() == big.labels["hair"].tolist()
    s = load_shapes(16, n=9)
    assert s.labels["labels"].sum(1).tolist() == [1, 2, 3] * 3


def test_condition_requests():
    metas = [{"name": "hair", "type": "softmax", "classes": ["blonde", "red"]},
             {"name": "eyes", "type": "softmax", "classes": ["blue", "green", "red"]},
             {"name": "labels", "type": "sigmoid", "classes": ["red cube", "blue sphere", "gray cube"]}]
    req = conditioning.cli_requests(metas, labels="red cube,blue sphere", hair="red hair", cond_items=["eyes=2"])
    arr = conditioning.request_arrays(metas, 4, req)
    assert arr["hair"].tolist() == [1] * 4 and arr["eyes"].tolist() == [2] * 4
    assert arr["labels"].tolist() == [[1, 1, 0]] * 4
    bal = conditioning.request_arrays(metas, 6, {})
    assert bal["hair"].tolist() == [0, 1, 0, 1, 0, 1] and bal["eyes"].tolist() == [0, 0, 1, 1, 2, 2]
    with pytest.raises(UserError, match="unknown hair 'silver'; known: blonde, red"):
        conditioning.request_arrays(metas, 2, {"hair": "silver"})
    with pytest.raises(UserError, match="no condition 'mouth'"):
        conditioning.request_arrays(metas, 2, {"mouth": "open"})
    with pytest.raises(UserError, match="--label needs a model with one class condition"):
        conditioning.cli_requests(metas, label="3")


def test_ignore_tags_drops_tags_not_rows(tmp_path):
    from keras_gans.data.labels import labels_from_tags_csv
    from keras_gans.core.errors import UserError

    f = tmp_path / "tags.csv"
    f.write_text("0,long hair blonde hair blue eyes\n1,polychromatic hair red eyes\n2,red hair short hair blue eyes\n")
    paths = [str(tmp_path / f"{i}.png") for i in range(3)]
    vocab = {"hair": ["blonde", "red"], "eyes": ["blue", "red"]}
    with pytest.raises(UserError, match="unknown tag 'long hair'"):
        labels_from_tags_csv(f, paths, tmp_path, ["hair", "eyes"], vocab)
    lab = labels_from_tags_csv(f, paths, tmp_path, ["hair", "eyes"], vocab, ignore=["long", "short", "polychromatic hair"])
    assert lab.arrays["hair"].tolist() == [0, -1, 1] and lab.arrays["eyes"].tolist() == [0, 1, 0]
    assert lab.keep.tolist() == [True, False, True]  # row 1 is left with no hair tag: left out, with a note
    assert not any("several" in n for n in lab.notes) and any("no hair tag" in n for n in lab.notes)
