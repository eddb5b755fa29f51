"""Neuroevolution potential (NEP4): descriptors, the PyTorch model and GPUMD's ``nep.txt`` format.

- :mod:`~nnsurrogate.atomistic.nep.basis`: Chebyshev radial functions, angular harmonics, 3/4/5-body invariants;
- :mod:`~nnsurrogate.atomistic.nep.features`: per-structure geometry, computed once;
- :mod:`~nnsurrogate.atomistic.nep.model`: :class:`NEPModel` (energies, forces, virials);
- :mod:`~nnsurrogate.atomistic.nep.nepfile`: read and write ``nep.txt`` as GPUMD does.
"""

from nnsurrogate.atomistic.nep.model import NEPModel
from nnsurrogate.atomistic.nep.nepfile import read_nep, write_nep
from nnsurrogate.atomistic.nep.spec import NEPSpec

__all__ = ["NEPModel", "NEPSpec", "read_nep", "write_nep"]
