"""Layer 1, the models' shared parts (beside data/ and nets/): losses, conditional heads, augmentation, optimizers, the
image history pool, any-size translation. Imports only core/."""
