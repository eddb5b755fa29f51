"""Crystal structures → properties: crystal graphs, CGCNN, and SA-GAT with feature screening.

* :func:`~nnsurrogate.crystal.io.read_crystals` reads CIF tables, pymatgen JSON, CGCNN folders,
  CIF / POSCAR / extxyz files into :class:`~nnsurrogate.crystal.structures.Crystal` objects;
* :func:`~nnsurrogate.crystal.graph.build_graph` makes periodic neighbour graphs (vesin, k nearest);
* :func:`~nnsurrogate.crystal.features.atom_features` gives 178 per-atom features (element,
  local environment, cell);
* :class:`CrystalRegressor` trains CGCNN or SA-GAT (feature attention → graph attention → readout)
  and reports SA-GAT's feature importances;
* :mod:`~nnsurrogate.crystal.distill` prepares the screened features for symbolic regression.
"""

from nnsurrogate.crystal.graph import CrystalGraph, GraphSettings, build_graph
from nnsurrogate.crystal.io import CrystalDataset, dataset_from_structures, read_crystals
from nnsurrogate.crystal.prepare import PreparedCrystals, prepare_crystals
from nnsurrogate.crystal.regressor import CrystalRegressor
from nnsurrogate.crystal.structures import Crystal

__all__ = ["Crystal", "CrystalDataset", "CrystalGraph", "CrystalRegressor", "GraphSettings", "PreparedCrystals",
           "build_graph", "dataset_from_structures", "prepare_crystals", "read_crystals"]
