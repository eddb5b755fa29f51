"""The symmetry group of the square (D4) acting on count images, forces and class probabilities.

The pair forces are isotropic and the grid is symmetric about the target, so for every orthogonal
map R of the square (4 rotations, 4 reflections; integer signed-permutation matrices) the image of
the mapped configuration is the pixel-permuted image and the force is R·F. Training draws a random
R per sample (data augmentation); prediction can average over all eight (test-time symmetrisation).
"""

from __future__ import annotations

import numpy as np
import torch

from nnsurrogate.gas2d.descriptor import cell_centres

__all__ = ["D4_MATRICES", "class_probability_back", "image_permutations", "transform_descriptors", "transform_images"]


def _group() -> np.ndarray:
    """The eight 2 × 2 signed-permutation matrices, identity first."""
    mats = []
    for swap in (False, True):
        for sx in (1, -1):
            for sy in (1, -1):
                m = np.diag([sx, sy])
                mats.append(m[::-1].copy() if swap else m)
    return np.array(mats, dtype=np.int64)


#: (8, 2, 2) integer matrices R acting on column vectors (x, y); index 0 is the identity.
D4_MATRICES = _group()


def image_permutations(grid: int) -> np.ndarray:
    """Pixel gather indices (8, grid²): ``new.flat = old.flat[perm[g]]`` is the image of R_g·positions.

    The pixel whose centre is c in the new image takes the count of the pixel at R⁻¹·c in the old.
    """
    centres = cell_centres(1.0, grid).reshape(-1, 2)  # any window: only the pattern matters
    h = 1.0 / grid
    perms = []
    for m in D4_MATRICES:
        src = centres @ m  # rows c' → (R⁻¹ c')ᵀ = c'ᵀ R for orthogonal R
        col = np.rint((src[:, 0] + 0.5) / h - 0.5).astype(np.int64)
        row = np.rint((src[:, 1] + 0.5) / h - 0.5).astype(np.int64)
        perms.append(row * grid + col)
    return np.array(perms)


def transform_descriptors(images: torch.Tensor, which: torch.Tensor, perms: torch.Tensor) -> torch.Tensor:
    """Apply group element ``which[b]`` to descriptor *b*: count images (B, n, n), or sub-cell descriptors
    (B, 3, n, n) whose channels 1–2 (the offsets within the cell) turn as a vector as well as move."""
    b, n = images.shape[0], images.shape[-1]
    if images.ndim == 3:
        return torch.gather(images.reshape(b, n * n), 1, perms[which]).reshape(b, n, n)
    c = images.shape[1]
    flat = torch.gather(images.reshape(b, c, n * n), 2, perms[which][:, None, :].expand(b, c, n * n))
    mats = torch.as_tensor(D4_MATRICES, dtype=images.dtype, device=images.device)[which]
    turned = torch.einsum("bij,bjp->bip", mats, flat[:, 1:3])
    return torch.cat([flat[:, :1], turned, flat[:, 3:]], dim=1).reshape(images.shape)


def transform_images(images: torch.Tensor, forces: torch.Tensor, which: torch.Tensor,
                     perms: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply group element ``which[b]`` to sample *b*.

    Parameters
    ----------
    images : torch.Tensor, shape (B, grid, grid) or (B, 3, grid, grid)
        Count images or sub-cell descriptors (:mod:`~nnsurrogate.gas2d.descriptor`).
    forces : torch.Tensor, shape (B, 2)
        Force, eV/Å (any scaling).
    which : torch.Tensor of int64, shape (B,)
        Indices into :data:`D4_MATRICES`.
    perms : torch.Tensor of int64, shape (8, grid²)
        From :func:`image_permutations`.
    """
    mats = torch.as_tensor(D4_MATRICES, dtype=forces.dtype, device=forces.device)[which]
    return transform_descriptors(images, which, perms), torch.einsum("bij,bj->bi", mats, forces)


def class_probability_back(probs: torch.Tensor, g: int) -> torch.Tensor:
    """Map joint class probabilities predicted for R_g·image back to the original frame.

    Parameters
    ----------
    probs : torch.Tensor, shape (B, K, K)
        P(class of F'_x = a, class of F'_y = b) for the transformed sample, F' = R_g F.
    g : int
        Group element.

    Returns
    -------
    torch.Tensor, shape (B, K, K)
        P(class of F_x, class of F_y) for the original sample (classes of −F are K − 1 − c).
    """
    m = D4_MATRICES[g]
    out = probs
    # F' = R F: row i of R has one non-zero entry ±1 in column π(i): F'_i = s_i F_π(i).
    for axis, row in enumerate(m):
        if row.sum() < 0:
            out = torch.flip(out, dims=(axis + 1,))
    if m[0, 0] == 0:  # F'_x is built from F_y: swap the two class axes
        out = out.transpose(1, 2)
    return out
