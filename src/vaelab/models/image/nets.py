"""Convolutional building blocks for small images (hand-written; see ``vaelab_image`` for why not MONAI)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ResBlock(nn.Module):
    """``x + conv(silu(conv(silu(x))))``; the second conv starts at zero, so the block starts as identity."""

    def __init__(self, ch: int):
        super().__init__()
        self.c1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.c2 = nn.Conv2d(ch, ch, 3, padding=1)
        nn.init.zeros_(self.c2.weight)
        nn.init.zeros_(self.c2.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.c2(F.silu(self.c1(F.silu(x))))


def _maybe_res(ch: int, on: bool) -> nn.Module:
    return ResBlock(ch) if on else nn.Identity()


class ConvCVAENet(nn.Module):
    """Class-conditional conv VAE for ``(C, H, W)`` images in [0, 1].

    Encoder: image + one-hot class maps -> conv ``a`` @ full size -> stride-2 conv ``b`` @ 1/2 ->
    stride-2 conv ``c`` @ 1/4 -> linear -> (mu, log-variance) of ``latent`` dims. Decoder mirrors it
    (nearest upsampling + conv) and outputs per pixel a mean (sigmoid) and a log-variance bounded in
    ``[min_logvar, 0]`` (a heteroscedastic Gaussian likelihood). Sizes not divisible by 4 are
    padded (replicate) and cropped back. ``res`` switches a residual block on per level.
    """

    def __init__(self, shape: tuple[int, int, int], n_classes: int, latent: int, channels: tuple[int, int, int],
                 res: tuple[bool, bool, bool], min_logvar: float):
        super().__init__()
        C, H, W = shape
        self.shape, self.n_classes, self.latent, self.min_logvar = shape, n_classes, latent, float(min_logvar)
        self.Hp, self.Wp = -(-H // 4) * 4, -(-W // 4) * 4
        a, b, c = channels
        self.c = c
        self.s = (self.Hp // 4, self.Wp // 4)
        flat = c * self.s[0] * self.s[1]
        self.enc = nn.Sequential(
            nn.Conv2d(C + n_classes, a, 3, padding=1), _maybe_res(a, res[0]),
            nn.Conv2d(a, b, 4, 2, 1), _maybe_res(b, res[1]),
            nn.Conv2d(b, c, 4, 2, 1), _maybe_res(c, res[2]), nn.SiLU(), nn.Flatten(),
        )
        self.enc_out = nn.Linear(flat, 2 * latent)
        self.dec_in = nn.Linear(latent + n_classes, flat)
        self.dec = nn.Sequential(
            _maybe_res(c, res[2]), nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c, b, 3, padding=1),
            _maybe_res(b, res[1]), nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(b, a, 3, padding=1),
            _maybe_res(a, res[0]), nn.SiLU(),
        )
        self.dec_out = nn.Conv2d(a + n_classes, 2 * C, 3, padding=1)

    def _maps(self, c: torch.Tensor, h: int, w: int) -> torch.Tensor:
        return F.one_hot(c, self.n_classes).to(torch.float32)[:, :, None, None].expand(-1, -1, h, w)

    def encode(self, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` (n, C, H, W) in [0, 1], ``c`` (n,) class indices -> mu, logvar (n, latent)."""
        H, W = self.shape[1:]
        if (self.Hp, self.Wp) != (H, W):
            x = F.pad(x, (0, self.Wp - W, 0, self.Hp - H), mode="replicate")
        h = self.enc(torch.cat([x, self._maps(c, self.Hp, self.Wp)], dim=1))
        mu, logvar = self.enc_out(h).chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 8.0)

    def decode(self, z: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``z`` (n, latent) -> per-pixel mean in [0, 1] and log-variance, each (n, C, H, W)."""
        oh = F.one_hot(c, self.n_classes).to(z.dtype)
        h = self.dec(self.dec_in(torch.cat([z, oh], dim=1)).view(-1, self.c, *self.s))
        out = self.dec_out(torch.cat([h, self._maps(c, self.Hp, self.Wp)], dim=1))
        H, W = self.shape[1:]
        out = out[:, :, :H, :W]
        m, lv = out.chunk(2, dim=1)
        return torch.sigmoid(m), self.min_logvar * (1.0 - torch.sigmoid(lv))


class MLPVAENet(nn.Module):
    """The textbook MLP VAE (Kingma & Welling 2014; PyTorch's examples/vae): d -> 400 -> 20 -> 400 -> d,
    ReLU, sigmoid output; the class enters as a one-hot vector concatenated to the encoder input and to z
    (the conditional VAE of Sohn et al. 2015)."""

    def __init__(self, d: int, n_classes: int, hidden: int, latent: int):
        super().__init__()
        self.n_classes, self.latent = n_classes, latent
        self.fc1 = nn.Linear(d + n_classes, hidden)
        self.fc_mu = nn.Linear(hidden, latent)
        self.fc_logvar = nn.Linear(hidden, latent)
        self.fc3 = nn.Linear(latent + n_classes, hidden)
        self.fc4 = nn.Linear(hidden, d)

    def _oh(self, c: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return F.one_hot(c, self.n_classes).to(like.dtype)

    def encode(self, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = F.relu(self.fc1(torch.cat([x, self._oh(c, x)], dim=1)))
        return self.fc_mu(h), self.fc_logvar(h)

    def decode_logits(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.fc4(F.relu(self.fc3(torch.cat([z, self._oh(c, z)], dim=1))))
