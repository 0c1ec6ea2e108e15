"""gan.schedule (models/schedule.py): values in force at a step, validation, and a run whose D:G ratio, adversarial
weight and learning rate change at a step boundary."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import tiny_config


def test_schedule_values_and_validation():
    from keras_gans.config.loader import load_config
    from keras_gans.core.errors import UserError
    from keras_gans.models.schedule import values_at

    sched = [{"step": 0, "d_steps": 5}, {"step": 10, "d_steps": 1, "g_steps": 2}, {"step": 20, "d_lr": 1e-5}]
    base = {"d_steps": 1, "g_steps": 1, "d_lr": 2e-4}
    assert values_at(sched, 0, base)["d_steps"] == 5 and values_at(sched, 9, base)["g_steps"] == 1
    v = values_at(sched, 25, base)
    assert (v["d_steps"], v["g_steps"], v["d_lr"]) == (1, 2, 1e-5)
    for bad, msg in (([{"d_steps": 2}], "with a step"), ([{"step": 1, "n_critic": 2}], "unknown key 'n_critic'"),
                     ([{"step": 1, "head_weights": {"hair": 1}}], "not a conditional head"),
                     ([{"step": -1}], "step must be")):
        with pytest.raises(UserError, match=msg):
            load_config("dcgan", {"gan.schedule": bad})


def test_schedule_callback_sets_the_values_in_force_at_the_step_counter():
    """The cheap check (no fit): what a resumed run at step 4 gets, and the step's variables."""
    from keras_gans.models.conditional import ConditionalGAN
    from keras_gans.models.schedule import make_callback

    cfg = tiny_config(model="acgan", conditional={"mode": "acgan", "heads": [{"name": "label", "type": "softmax"}]})
    cfg["gan"]["schedule"] = [{"step": 2, "d_steps": 3, "adv_weight": 0.25},
                                {"step": 4, "g_steps": 2, "d_lr": 1e-5, "head_weights": {"label": 3.0}}]
    m = ConditionalGAN.from_config(cfg, {"image_shape": [16, 16, 1], "conditions": [
        {"name": "label", "type": "softmax", "classes": [str(i) for i in range(10)]}]})
    assert m.max_d == 3 and float(m.weight("adv_weight", 1.0).numpy()) == 1.0  # step 0: the config's values
    m.step_counter.assign(4)
    cb = make_callback(m)
    cb.set_model(m)
    cb.on_train_begin()
    assert (m.d_steps, m.g_steps) == (3, 2) and cb.next is None
    assert float(m.weight("adv_weight", 1.0).numpy()) == 0.25 and float(m.weight("head:label", 1.0).numpy()) == 3.0
    assert float(m.d_optimizer.learning_rate.numpy()) == pytest.approx(1e-5)
    assert float(m.g_optimizer.learning_rate.numpy()) == pytest.approx(2e-4)
    # the weights are what the loss reads: the class term is 3x the per-example cross-entropy now
    out = {"score": tf.zeros([2, 1]), "label": tf.constant([[2.0] + [0.0] * 9] * 2)}
    extra, _ = m.extra_g_loss(out, {"label": tf.constant([0, 1])})
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[0, 1], logits=out["label"]).numpy()
    np.testing.assert_allclose(extra.numpy(), (0.25 - 1.0) * np.log(2.0) + 3.0 * ce, rtol=1e-5)


@pytest.mark.slow  # three traces of the train step: ~45 s on a busy 2-core machine
def test_schedule_changes_ratio_weight_and_lr_at_a_step(tmp_path):
    from keras_gans.models.schedule import make_callback
    from keras_gans.training.driver import train

    cfg = tiny_config(model="acgan", conditional={"mode": "acgan", "heads": [{"name": "label", "type": "softmax"}]})
    cfg["train"]["steps_per_epoch"] = 3
    cfg["train"]["epochs"] = 2
    cfg["gan"]["schedule"] = [{"step": 2, "d_steps": 2, "adv_weight": 0.25},
                                {"step": 4, "d_steps": 1, "g_steps": 2, "d_lr": 1e-5, "head_weights": {"label": 3.0}}]
    model, _, _ = train(cfg, tmp_path / "run", verbose=0)
    # steps 0-1: 1 D + 1 G; steps 2-3: 2 D + 1 G; steps 4-5: 1 D + 2 G
    assert int(model.d_optimizer.iterations.numpy()) == 2 * 1 + 2 * 2 + 2 * 1
    assert int(model.g_optimizer.iterations.numpy()) == 2 * 1 + 2 * 1 + 2 * 2
    assert float(model.weight("adv_weight", 1.0).numpy()) == 0.25
    assert float(model.weight("head:label", 1.0).numpy()) == 3.0
    assert float(model.d_optimizer.learning_rate.numpy()) == pytest.approx(1e-5)
    assert float(model.g_optimizer.learning_rate.numpy()) == pytest.approx(2e-4)
    # a resumed run starts from the values in force at its step counter
    cb = make_callback(model)
    cb.set_model(model)
    model.d_steps, model.g_steps = 1, 1
    cb.on_train_begin()
    assert (model.d_steps, model.g_steps) == (1, 2) and cb.next is None
