"""The PyTorch arm: the same course-baseline DCGAN nets and the PyTorch DCGAN tutorial's update order, eager.

G: Linear(100 -> 4x4x512, no bias) + BN + ReLU, ConvTranspose k5 s2 (512-256-128-64, no bias) + BN + ReLU,
ConvTranspose k5 s2 -> 3 + tanh. D: Conv k5 s2 64-128-256-512 (BN after all but the first) + LeakyReLU(0.2),
Linear(4x4x512 -> 1). N(0, 0.02) weights, Adam(2e-4, betas (0.5, 0.999)), BCE on logits. `channels_last`
puts the nets and the batches in NHWC memory format (oneDNN's preferred layout on CPU).
Needs the optional `[bench]` extra (torch); the benchmark skips this arm with a message without it.
Self-contained on purpose (no TensorFlow, nothing from keras_gans): the size arithmetic repeats reference_dcgan.py's.
"""

from __future__ import annotations

import numpy as np


def build_nets(latent_dim: int = 100, image_size: int = 64, channels: int = 3, dim: int = 64):
    import torch
    from torch import nn

    ups, s = 0, image_size
    while s > 4:
        s //= 2
        ups += 1
    width = dim * 2 ** (ups - 1)

    class G(nn.Module):
        def __init__(self):
            super().__init__()
            self.project = nn.Linear(latent_dim, 16 * width, bias=False)
            self.bn0 = nn.BatchNorm2d(width, momentum=0.1, eps=1e-5)
            layers, w = [], width
            for _ in range(ups - 1):
                layers += [nn.ConvTranspose2d(w, w // 2, 5, 2, padding=2, output_padding=1, bias=False),
                           nn.BatchNorm2d(w // 2), nn.ReLU(True)]
                w //= 2
            layers += [nn.ConvTranspose2d(w, channels, 5, 2, padding=2, output_padding=1), nn.Tanh()]
            self.body = nn.Sequential(*layers)

        def forward(self, z):
            x = self.project(z).view(-1, width, 4, 4)
            return self.body(torch.relu(self.bn0(x)))

    d_layers, c = [], channels
    for i in range(ups):
        d_layers.append(nn.Conv2d(c, dim * 2**i, 5, 2, padding=2))
        if i > 0:
            d_layers.append(nn.BatchNorm2d(dim * 2**i))
        d_layers.append(nn.LeakyReLU(0.2, True))
        c = dim * 2**i
    d_layers += [nn.Flatten(), nn.Linear(c * 16, 1)]
    g, d = G(), nn.Sequential(*d_layers)
    for m in list(g.modules()) + list(d.modules()):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return g, d


class TorchDCGAN:
    """`step(real)` = one tutorial step: D on real and detached fake, then G through the updated D."""

    def __init__(self, channels_last: bool = False, latent_dim: int = 100, batch: int = 64, seed: int = 0):
        import torch

        torch.manual_seed(seed)
        self.torch, self.latent_dim, self.batch = torch, latent_dim, batch
        self.fmt = torch.channels_last if channels_last else torch.contiguous_format
        self.g, self.d = build_nets(latent_dim)
        self.g.to(memory_format=self.fmt)
        self.d.to(memory_format=self.fmt)
        self.opt_g = torch.optim.Adam(self.g.parameters(), 2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.d.parameters(), 2e-4, betas=(0.5, 0.999))
        self.loss = torch.nn.BCEWithLogitsLoss()
        self.ones, self.zeros = torch.ones(batch, 1), torch.zeros(batch, 1)

    def batches(self, images: np.ndarray):
        """Endless shuffled float batches in [-1, 1] (NCHW tensors in the chosen memory format)."""
        torch = self.torch
        data = torch.from_numpy(images).permute(0, 3, 1, 2)  # uint8 NHWC -> NCHW view
        gen = torch.Generator().manual_seed(0)
        while True:
            perm = torch.randperm(len(data), generator=gen)
            for i in range(len(data) // self.batch):
                x = data[perm[i * self.batch:(i + 1) * self.batch]].float().div_(127.5).sub_(1.0)
                yield x.contiguous(memory_format=self.fmt)

    def step(self, real):
        z = self.torch.randn(self.batch, self.latent_dim)
        fake = self.g(z)
        self.opt_d.zero_grad(set_to_none=True)
        d_loss = self.loss(self.d(real), self.ones) + self.loss(self.d(fake.detach()), self.zeros)
        d_loss.backward()
        self.opt_d.step()
        self.opt_g.zero_grad(set_to_none=True)
        g_loss = self.loss(self.d(fake), self.ones)
        g_loss.backward()
        self.opt_g.step()
        return d_loss.item(), g_loss.item()
