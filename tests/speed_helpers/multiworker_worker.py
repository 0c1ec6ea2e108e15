"""One worker of the two-process MultiWorkerMirroredStrategy test (tests/test_distributed.py).

Usage: multiworker_worker.py RUN_DIR INDEX PORT0 PORT1 [EXPORT_DIR] — TF_CONFIG is set here, before TensorFlow starts."""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.dirname(HERE))

run_dir, index, ports = sys.argv[1], int(sys.argv[2]), sys.argv[3:5]
os.environ["TF_CONFIG"] = json.dumps(
    {"cluster": {"worker": [f"localhost:{p}" for p in ports]}, "task": {"type": "worker", "index": index}}
)

from conftest import tiny_config  # noqa: E402

from keras_gans.training.driver import train  # noqa: E402

cfg = tiny_config(train={"strategy": "multiworker", "steps_per_epoch": 2, "batch_size": 8,
                         "mixed_precision": "float32"}, gan={"d_steps": 2})
cfg["callbacks"]["n_samples"] = 4
if len(sys.argv) > 5:  # an export directory: the chief exports at the end, as a real run does
    cfg["callbacks"]["export_at_end"] = True
    cfg["callbacks"]["export_dir"] = sys.argv[5]
model, _, history = train(cfg, run_dir=run_dir, verbose=0)
print("RESULT " + json.dumps({"index": index, "replicas": int(model.distribute_strategy.num_replicas_in_sync),
                              "d_loss": [float(v) for v in history.get("d_loss", [])],
                              "step": int(model.step_counter.numpy())}), flush=True)
