"""The step plan: how many images one train step consumes and how many steps make an epoch.

Derived here once, from the config and the data size, and read by everyone who needs it: the pipeline (how big
a batch of real images to cut), the families (how many discriminator slices a batch holds, CycleGAN's decay
schedule in steps), the data-size check and the progress line. A step consumes batch_size x d_slices images,
where d_slices is the number of real batches the family says one step takes (its `real_batches_per_step`: 1, or
for the GAN family the largest gan.d_steps the run will use).
"""

from __future__ import annotations

from dataclasses import dataclass


def steps_per_epoch(n_images: int, images_per_step: int) -> int:
    """Train steps in one pass over the data (at least one; the last partial batch is dropped)."""
    return max(1, n_images // images_per_step)


@dataclass(frozen=True)
class StepPlan:
    batch_size: int  # global batch of one D (or G) update
    d_slices: int  # real batches one step consumes (the family's real_batches_per_step)
    steps_per_epoch: int
    n_images: int

    @property
    def images_per_step(self) -> int:
        return self.batch_size * self.d_slices


def step_plan(cfg: dict, n_images: int, d_slices: int = 1) -> StepPlan:
    """The plan for n_images training images, d_slices real batches per step (the family's
    real_batches_per_step); train.steps_per_epoch, when set, overrides the pass length."""
    t = cfg["train"]
    batch, slices = int(t["batch_size"]), int(d_slices)
    steps = int(t.get("steps_per_epoch") or steps_per_epoch(int(n_images), batch * slices))
    return StepPlan(batch, slices, steps, int(n_images))
