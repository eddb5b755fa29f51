"""Training-time perturbations of spectra on a grid, as a stochastic layer (active only in training mode).

Each spectrum of a mini-batch gets, independently:

- a **peak shift**: the whole spectrum moved by δ ~ U(−shift, shift) grid points (sample displacement,
  lattice strain, calibration offsets), by linear interpolation;
- a **broadening**: convolution with a Gaussian of σ ~ U(0, broaden) grid points (crystallite size,
  instrument resolution);
- **noise**: Gaussian noise of standard deviation ``noise`` × the spectrum's maximum, and a random
  intensity scale 1 ± ``noise``.

Like dropout, the layer is the identity in evaluation mode, so predictions are deterministic.
"""

from __future__ import annotations

import torch
from torch import nn


class SpectrumAugment(nn.Module):
    """Random shift, broadening and noise of spectra (…, L) in training mode; identity in evaluation mode.

    Parameters
    ----------
    shift : float
        Largest shift, grid points.
    broaden : float
        Largest Gaussian σ of the extra broadening, grid points.
    noise : float
        Relative noise level (fraction of each spectrum's maximum).
    """

    def __init__(self, shift: float = 0.0, broaden: float = 0.0, noise: float = 0.0) -> None:
        super().__init__()
        self.shift, self.broaden, self.noise = float(shift), float(broaden), float(noise)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or (self.shift == 0 and self.broaden == 0 and self.noise == 0):
            return x
        shape = x.shape
        s = x.reshape(-1, shape[-1])
        if self.shift > 0:
            s = shift_spectra(s, (torch.rand(s.shape[0], device=s.device) * 2 - 1) * self.shift)
        if self.broaden > 0:
            s = broaden_spectra(s, torch.rand(s.shape[0], device=s.device) * self.broaden)
        if self.noise > 0:
            top = s.abs().amax(dim=1, keepdim=True)
            scale = 1 + (torch.rand(s.shape[0], 1, device=s.device) * 2 - 1) * self.noise
            s = s * scale + torch.randn_like(s) * self.noise * top
        return s.reshape(shape)


def shift_spectra(s: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """Spectra (B, L) moved by *delta* (B,) grid points (positive: to larger x), zero-filled, linear interpolation."""
    L = s.shape[1]
    pos = torch.arange(L, device=s.device, dtype=s.dtype)[None, :] - delta[:, None]  # where each output reads from
    lo = pos.floor()
    w = pos - lo
    lo = lo.long()

    def take(idx):
        valid = (idx >= 0) & (idx < L)
        return torch.where(valid, torch.gather(s, 1, idx.clamp(0, L - 1)), torch.zeros((), dtype=s.dtype))

    return (1 - w) * take(lo) + w * take(lo + 1)


def broaden_spectra(s: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Spectra (B, L) convolved with unit-area Gaussians of σ (B,) grid points (σ → 0 leaves them unchanged)."""
    half = int(torch.ceil(4 * sigma.max()).item()) if sigma.numel() else 0
    if half < 1:
        return s
    t = torch.arange(-half, half + 1, device=s.device, dtype=s.dtype)
    k = torch.exp(-0.5 * (t[None, :] / sigma.clamp_min(1e-3)[:, None]) ** 2)
    k = k / k.sum(dim=1, keepdim=True)  # (B, K)
    out = nn.functional.conv1d(s[None], k[:, None, :], padding=half, groups=s.shape[0])
    return out[0]
