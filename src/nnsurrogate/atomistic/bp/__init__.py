"""Behler–Parrinello neural-network potentials: symmetry functions G2, G4/G5 and per-element networks."""

from nnsurrogate.atomistic.bp.build import bp_cutoff, bp_cutoffs, build_bp_model
from nnsurrogate.atomistic.bp.descriptors import cutoff_function, symmetry_functions
from nnsurrogate.atomistic.bp.model import BPModel, BPSpec
from nnsurrogate.atomistic.bp.params import (SymmetryFunctions, auto_parameters, choose_parameters,
                                             read_parameter_file)

__all__ = ["BPModel", "BPSpec", "SymmetryFunctions", "auto_parameters", "bp_cutoff", "bp_cutoffs", "build_bp_model",
           "choose_parameters", "cutoff_function", "read_parameter_file", "symmetry_functions"]
