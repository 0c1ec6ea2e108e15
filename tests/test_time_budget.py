"""train.max_minutes / train.max_cpu_minutes: a run ends at its budget like at its last epoch (checkpoint, samples),
and RUN/time.json adds up wall and CPU time over resumes (what equal-budget comparisons read)."""

from __future__ import annotations

import json

from conftest import tiny_config


def test_cpu_budget_ends_training_with_a_checkpoint_and_resume_adds_time(tmp_path):
    from keras_gans.training.driver import train

    run = tmp_path / "run"
    cfg = tiny_config(train={"epochs": 5, "steps_per_epoch": 3, "max_cpu_minutes": 1e-6})
    _, _, history = train(cfg, run)
    assert len(history["g_loss"]) == 1  # stopped after the first step of epoch 1, not after 5 epochs
    assert (run / "checkpoints" / "ckpt-1.index").is_file()  # the budget's stop is checkpointed
    assert (run / "samples" / "epoch_0001.png").is_file()
    first = json.loads((run / "time.json").read_text())
    assert first["epochs"] == 1 and first["cpu_s"] > 0 and first["wall_s"] > 0

    _, _, again = train(cfg, run, resume=True)  # the budget counts over resumes: it is spent, nothing is trained
    assert again == {} and json.loads((run / "time.json").read_text())["epochs"] == 1

    cfg2 = tiny_config(train={"epochs": 2, "steps_per_epoch": 3})  # no budget: resume runs to the end
    _, _, history2 = train(cfg2, run, resume=True)
    assert len(history2["g_loss"]) == 1
    second = json.loads((run / "time.json").read_text())
    assert second["epochs"] == 2 and second["cpu_s"] > first["cpu_s"] and second["wall_s"] > first["wall_s"]


def test_budget_keys_are_checked(tmp_path):
    import pytest

    from keras_gans.core.errors import UserError

    with pytest.raises(UserError, match="train.max_minutes"):
        tiny_config(train={"max_minutes": "soon"})
