"""Layer 0, the foundation: errors, atomic file writing, image scaling and grids, threads and the runtime, checkpoints,
the quiet start-up, the latent-seed rule, the registry of extension points' names. Imports no other layer."""
