"""MACE equivariant message-passing potentials, built from ``mace-torch``'s modules (optional extra
``equivariant``)."""

from nnsurrogate.atomistic.mace.build import build_mace_model, mace_hyper_keys
from nnsurrogate.atomistic.mace.model import MACEModel, MACESpec

__all__ = ["MACEModel", "MACESpec", "build_mace_model", "mace_hyper_keys"]
