"""The PyTorch CycleGAN arm: the same step as keras_gans' `cyclegan` preset, in PyTorch, eager, float32.

Nets as in the CycleGAN authors' code (junyanz/pytorch-CycleGAN-and-pix2pix, `ResnetGenerator` and
`NLayerDiscriminator`), at the preset's widths: G = reflection-pad 3 + conv 7x7 (F), two stride-2 3x3 convs (2F,
4F), `n_blocks` residual blocks (reflection pad, 3x3 conv, instance norm, ReLU, twice, plus the skip), two stride-2
transposed 3x3 convs (2F, F), reflection-pad 3 + conv 7x7 to 3 channels, tanh. D = 70x70 PatchGAN: 4x4 convs on a
1-pixel pad, C(F) stride 2 without norm, C(2F), C(4F) stride 2, C(8F) stride 1, then a 1-channel 4x4 conv;
LeakyReLU(0.2). Instance norm with a learned scale and shift and no bias in the convs before it, as keras_gans'
nets (the authors' code has no norm affine and conv biases: the same arithmetic cost to within a per-channel add).
One step as keras_gans' (and the authors'): both G updated together on LSGAN + 10 x cycle L1 + 5 x identity L1,
with the D frozen; then both D on 0.5 x LSGAN of real and of a 50-image history pool of fakes. Adam(2e-4, 0.5).
Self-contained on purpose (no TensorFlow, nothing from keras_gans). Needs the `[bench]` extra (torch).
"""

from __future__ import annotations

import numpy as np


def build_nets(filters: int = 32, n_blocks: int = 6, d_filters: int = 32, d_layers: int = 3, channels: int = 3):
    from torch import nn

    def norm(c):
        return nn.InstanceNorm2d(c, affine=True, eps=1e-5)

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3, bias=False), norm(c), nn.ReLU(True),
                                      nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3, bias=False), norm(c))

        def forward(self, x):
            return x + self.body(x)

    def generator():
        f = filters
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(channels, f, 7, bias=False), norm(f), nn.ReLU(True)]
        for m in (1, 2):
            layers += [nn.Conv2d(f * m, f * m * 2, 3, 2, padding=1, bias=False), norm(f * m * 2), nn.ReLU(True)]
        layers += [Block(f * 4) for _ in range(n_blocks)]
        for m in (4, 2):
            layers += [nn.ConvTranspose2d(f * m, f * m // 2, 3, 2, padding=1, output_padding=1, bias=False),
                       norm(f * m // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(f, channels, 7), nn.Tanh()]
        return nn.Sequential(*layers)

    def discriminator():
        layers, c = [], channels
        for i in range(d_layers + 1):
            w = d_filters * min(2**i, 8)
            layers.append(nn.Conv2d(c, w, 4, 2 if i < d_layers else 1, padding=1, bias=i == 0))
            if i > 0:
                layers.append(norm(w))
            layers.append(nn.LeakyReLU(0.2, True))
            c = w
        layers.append(nn.Conv2d(c, 1, 4, 1, padding=1))
        return nn.Sequential(*layers)

    nets = [generator(), generator(), discriminator(), discriminator()]
    for net in nets:
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(m.weight, 0.0, 0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
    return nets


class ImagePool:
    """The authors' history pool: store while not full, then with p=0.5 return a stored image and keep the new."""

    def __init__(self, size: int = 50):
        self.size, self.images = size, []

    def query(self, batch):
        import torch

        out = []
        for img in batch.detach():
            img = img[None]
            if len(self.images) < self.size:
                self.images.append(img)
                out.append(img)
            elif torch.rand(1).item() > 0.5:
                j = int(torch.randint(0, self.size, (1,)).item())
                out.append(self.images[j].clone())
                self.images[j] = img
            else:
                out.append(img)
        return torch.cat(out, 0)


class TorchCycleGAN:
    """`step((a, b))` = one CycleGAN step: G_ab and G_ba together, then D_a and D_b together."""

    def __init__(self, channels_last: bool = False, batch: int = 4, seed: int = 0, lambda_cycle: float = 10.0,
                 lambda_identity: float = 0.5, pool_size: int = 50, **net_kwargs):
        import itertools

        import torch

        torch.manual_seed(seed)
        self.torch, self.batch = torch, batch
        self.fmt = torch.channels_last if channels_last else torch.contiguous_format
        self.g_ab, self.g_ba, self.d_a, self.d_b = build_nets(**net_kwargs)
        for net in (self.g_ab, self.g_ba, self.d_a, self.d_b):
            net.to(memory_format=self.fmt)
        self.opt_g = torch.optim.Adam(itertools.chain(self.g_ab.parameters(), self.g_ba.parameters()), 2e-4,
                                      betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(itertools.chain(self.d_a.parameters(), self.d_b.parameters()), 2e-4,
                                      betas=(0.5, 0.999))
        self.lc, self.li = lambda_cycle, lambda_identity
        self.pool_a, self.pool_b = ImagePool(pool_size), ImagePool(pool_size)

    def batches(self, a: np.ndarray, b: np.ndarray):
        """Endless float batch pairs in [-1, 1], each domain shuffled on its own."""
        torch = self.torch
        gen = torch.Generator().manual_seed(0)
        data = [torch.from_numpy(x).permute(0, 3, 1, 2) for x in (a, b)]

        def stream(x):
            while True:
                perm = torch.randperm(len(x), generator=gen)
                for i in range(len(x) // self.batch):
                    y = x[perm[i * self.batch:(i + 1) * self.batch]].float().div_(127.5).sub_(1.0)
                    yield y.contiguous(memory_format=self.fmt)

        yield from zip(stream(data[0]), stream(data[1]))

    def step(self, batch):
        torch = self.torch
        real_a, real_b = batch
        mse, l1 = torch.nn.functional.mse_loss, torch.nn.functional.l1_loss
        for d in (self.d_a, self.d_b):
            d.requires_grad_(False)
        self.opt_g.zero_grad(set_to_none=True)
        fake_b, fake_a = self.g_ab(real_a), self.g_ba(real_b)
        rec_a, rec_b = self.g_ba(fake_b), self.g_ab(fake_a)
        sb, sa = self.d_b(fake_b), self.d_a(fake_a)
        g_loss = (mse(sb, torch.ones_like(sb)) + mse(sa, torch.ones_like(sa))
                  + self.lc * (l1(rec_a, real_a) + l1(rec_b, real_b)))
        if self.li:
            g_loss = g_loss + self.lc * self.li * (l1(self.g_ab(real_b), real_b) + l1(self.g_ba(real_a), real_a))
        g_loss.backward()
        self.opt_g.step()
        for d in (self.d_a, self.d_b):
            d.requires_grad_(True)
        self.opt_d.zero_grad(set_to_none=True)
        pa, pb = self.pool_a.query(fake_a), self.pool_b.query(fake_b)
        d_loss = 0.0
        for d, real, fake in ((self.d_a, real_a, pa), (self.d_b, real_b, pb)):
            r, f = d(real), d(fake)
            d_loss = d_loss + 0.5 * (mse(r, torch.ones_like(r)) + mse(f, torch.zeros_like(f)))
        d_loss.backward()
        self.opt_d.step()
        return d_loss.item(), g_loss.item()
