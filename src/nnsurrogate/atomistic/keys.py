"""The one registry of atomistic data fields: name, shape, unit and meaning (as nequip's ``AtomicDataDict``).

Every module that reads, writes or predicts per-frame or per-atom quantities uses these names, so a
field means the same thing everywhere (training data, model output, the ASE calculator's results,
extended-XYZ files). Units are ASE's: eV, Å, eV/Å, eV/Å³; stress is in Voigt order
(xx, yy, zz, yz, xz, xy) with ASE's sign convention (positive = tensile), virial W = −V·σ.

Two sections:

- data fields (:data:`FIELDS`): one frame's quantities, as a labelled frame, the ASE calculator's
  results and extended-XYZ files hold them;
- batch (internal) fields (:data:`BATCH_FIELDS`): the tensors a model's ``featurize`` / ``collate``
  produce and its ``forward`` reads, and the training targets. Within a batch of F frames with A
  atoms in all, per-atom fields have a first axis of A, per-frame fields of F, and the padded
  neighbour-slot fields are (A, M, …) with M slots per atom (M_R radial, M_A angular). The model
  output reuses the data names (``energies`` (A,), ``energy`` (F,), ``forces`` (A, 3), ``virial``
  (F, 3, 3)) without the per-element reference energies.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    """One data field: ``shape`` uses ``n_atoms`` / ``n_frames`` symbolically; ``per`` is frame, atom, slot or edge."""

    name: str
    shape: str
    unit: str
    per: str
    doc: str


# ------------------------------------------------------------------------------------ data fields
POSITIONS = "positions"          # (n_atoms, 3)   | Å       | Cartesian positions
NUMBERS = "numbers"              # (n_atoms,)     | 1       | atomic numbers
CELL = "cell"                    # (3, 3)         | Å       | lattice vectors as rows
PBC = "pbc"                      # (3,)           | bool    | periodic along each lattice vector
ENERGY = "energy"                # ()             | eV      | total potential energy
FREE_ENERGY = "free_energy"      # ()             | eV      | ASE's force-consistent energy (= energy here)
ENERGIES = "energies"            # (n_atoms,)     | eV      | per-atom (site) energies, Σ = energy
FORCES = "forces"                # (n_atoms, 3)   | eV/Å    | forces, −∂E/∂r
STRESS = "stress"                # (6,)           | eV/Å³   | Voigt stress σ = (1/V) ∂E/∂ε
VIRIAL = "virial"                # (3, 3)         | eV      | virial W = −V σ (GPUMD / extxyz "virial")
ENERGY_STD = "energy_std"        # ()             | eV      | committee standard deviation of the energy
FORCES_STD = "forces_std"        # (n_atoms,)     | eV/Å    | committee std of each atom's force (RMS over x, y, z)
FORCES_STD_RAW = "forces_std_raw"  # (n_atoms,)   | eV/Å    | the same before calibration (a calibrated committee)
MEMBER_ENERGIES = "member_energies"  # (N,)       | eV      | total energy of each committee member
CONFIG_TYPE = "config_type"      # ()             | text    | label of the frame's origin (AIMD-NVT, Vacancy, …)
WEIGHT = "weight"                # ()             | 1       | the frame's loss weight (GPUMD's Weight), ≥ 0
CHARGES = "charges"              # (n_atoms,)     | e       | atomic charges (calculator result of a charge-aware NEP)
SHORTEST_PAIR = "shortest_pair"  # ()             | Å       | calculator result: smallest distance within the cutoff

FIELDS: dict[str, Field] = {f.name: f for f in (
    Field(POSITIONS, "(n_atoms, 3)", "Å", "atom", "Cartesian positions"),
    Field(NUMBERS, "(n_atoms,)", "1", "atom", "atomic numbers"),
    Field(CELL, "(3, 3)", "Å", "frame", "lattice vectors as rows"),
    Field(PBC, "(3,)", "bool", "frame", "periodic boundary along each lattice vector"),
    Field(ENERGY, "()", "eV", "frame", "total potential energy"),
    Field(FREE_ENERGY, "()", "eV", "frame", "ASE's force-consistent energy; equal to the energy for these models"),
    Field(ENERGIES, "(n_atoms,)", "eV", "atom", "per-atom site energies; their sum is the energy"),
    Field(FORCES, "(n_atoms, 3)", "eV/Å", "atom", "forces −∂E/∂r"),
    Field(STRESS, "(6,)", "eV/Å³", "frame", "Voigt stress (xx, yy, zz, yz, xz, xy), σ = (1/V) ∂E/∂ε"),
    Field(VIRIAL, "(3, 3)", "eV", "frame", "virial W = −V σ"),
    Field(ENERGY_STD, "()", "eV", "frame", "committee standard deviation of the energy"),
    Field(FORCES_STD, "(n_atoms,)", "eV/Å", "atom", "committee std of each atom's force, RMS over components"),
    Field(FORCES_STD_RAW, "(n_atoms,)", "eV/Å", "atom",
          "a calibrated committee's forces_std before calibration (atomistic.calibration)"),
    Field(MEMBER_ENERGIES, "(N,)", "eV", "frame", "total energy predicted by each of the N committee members"),
    Field(CONFIG_TYPE, "()", "text", "frame", "origin of the frame (AIMD-NVT, Vacancy, Elastic, Surface, …)"),
    Field(WEIGHT, "()", "1", "frame", "loss weight of the frame (GPUMD's Weight), a finite number ≥ 0; 1 when absent"),
    Field(CHARGES, "(n_atoms,)", "e", "atom", "atomic charges, neutral per structure (charge-aware NEP, qNEP)"),
    Field(SHORTEST_PAIR, "()", "Å", "frame", "calculator result: the smallest interatomic distance within the "
          "model's cutoff (inf when none), read by the MD guard"),
)}

# ----------------------------------------------------------------------- batch (internal) fields
# Shared by every model (NEP, BP) and the trainer.
TYPES = "types"                  # (A,)           | 1       | model type index of each atom (order of model.species)
FRAME = "frame"                  # (A,)           | 1       | index of the frame each atom belongs to
N_ATOMS = "n_atoms"              # (F,)           | 1       | atoms per frame
R_J = "r_j"                      # (A, M_R)       | 1       | radial-slot neighbour index (−1 empty; in a batch: A)
R_VEC = "r_vec"                  # (A, M_R, 3)    | Å       | pair vector r_ij = r_j − r_i (+ cell shift)
HAS_VIRIAL = "has_virial"        # (F,)           | bool    | training target: the frame has a virial label
# NEP (atomistic/nep/features.py)
R_HAT = "r_hat"                  # (A, M_R, 3)    | 1       | unit pair vector r̂_ij
R_DF = "r_df"                    # (A, M_R, T·K_R)| 1/Å     | radial basis derivative ∂f_k/∂r, type-blocked
FSUM = "Fsum"                    # (A, T·K_R)     | 1       | Σ_j f_k(r_ij) per neighbour type
A_J = "a_j"                      # (A, M_A)       | 1       | angular-slot neighbour index (−1 empty; in a batch: A)
A_VEC = "a_vec"                  # (A, M_A, 3)    | Å       | pair vector within the angular cutoff
A_HAT = "a_hat"                  # (A, M_A, 3)    | 1       | its unit vector
A_RINV = "a_rinv"                # (A, M_A)       | 1/Å     | 1 / r_ij
A_F = "a_f"                      # (A, M_A, T·K_A)| 1       | angular-cutoff basis values f_k(r_ij), type-blocked
A_DF = "a_df"                    # (A, M_A, T·K_A)| 1/Å     | their derivatives ∂f_k/∂r
A_Y = "a_Y"                      # (A, M_A, LM)   | 1       | real spherical harmonics Y_lm(r̂_ij)
A_DY = "a_dY"                    # (A, M_A, LM, 3)| 1       | their polynomial gradients ∂Y/∂r̂
PHI = "Phi"                      # (A, LM, T·K_A) | 1       | Σ_j f_k(r_ij) Y_lm(r̂_ij) per neighbour type
ATOM_POSITIONS = "atom_positions" # (A, 3)        | Å       | Cartesian positions (charge-aware qNEP: the Ewald sum)
FRAME_CELL = "frame_cell"        # (F, 3, 3)      | Å       | lattice vectors as rows, per frame (qNEP)

# MACE (atomistic/mace/model.py): a graph of edges instead of padded slots
EDGE_I = "edge_i"                # (P,)           | 1       | edge sender (centre) atom i
EDGE_J = "edge_j"                # (P,)           | 1       | edge receiver (neighbour) atom j
EDGE_SHIFT = "edge_shift"        # (P, 3)         | Å       | S·cell of the image of j (r_ij = r_j − r_i + S·cell)
EDGE_UNIT_SHIFT = "edge_unit_shift"  # (P, 3)     | 1       | the integer cell shift S, as floats

# Behler–Parrinello (atomistic/bp/descriptors.py)
G = "G"                          # (A, D)         | 1       | symmetry-function descriptors
DG = "dG"                        # (A, M_R, D, 3) | 1/Å     | ∂G_i/∂r_ij per neighbour slot

BATCH_FIELDS: dict[str, Field] = {f.name: f for f in (
    Field(TYPES, "(A,)", "1", "atom", "model type index of each atom, in the order of the model's species"),
    Field(FRAME, "(A,)", "1", "atom", "index of the frame each atom of the batch belongs to"),
    Field(N_ATOMS, "(F,)", "1", "frame", "number of atoms of each frame of the batch"),
    Field(R_J, "(A, M_R)", "1", "slot", "neighbour index of each radial slot (−1 empty; A after collate)"),
    Field(R_VEC, "(A, M_R, 3)", "Å", "slot", "pair vector r_ij of each radial slot"),
    Field(HAS_VIRIAL, "(F,)", "bool", "frame", "training target mask: the frame has a virial label"),
    Field(R_HAT, "(A, M_R, 3)", "1", "slot", "unit pair vector of each radial slot (NEP)"),
    Field(R_DF, "(A, M_R, T·K_R)", "1/Å", "slot", "radial basis derivatives, type-blocked (NEP)"),
    Field(FSUM, "(A, T·K_R)", "1", "atom", "radial basis sums per neighbour type (NEP)"),
    Field(A_J, "(A, M_A)", "1", "slot", "neighbour index of each angular slot (−1 empty; A after collate; NEP)"),
    Field(A_VEC, "(A, M_A, 3)", "Å", "slot", "pair vector of each angular slot (NEP)"),
    Field(A_HAT, "(A, M_A, 3)", "1", "slot", "unit pair vector of each angular slot (NEP)"),
    Field(A_RINV, "(A, M_A)", "1/Å", "slot", "inverse pair distance of each angular slot (NEP)"),
    Field(A_F, "(A, M_A, T·K_A)", "1", "slot", "angular-cutoff basis values, type-blocked (NEP)"),
    Field(A_DF, "(A, M_A, T·K_A)", "1/Å", "slot", "angular-cutoff basis derivatives, type-blocked (NEP)"),
    Field(A_Y, "(A, M_A, LM)", "1", "slot", "real spherical harmonics of the pair direction (NEP)"),
    Field(A_DY, "(A, M_A, LM, 3)", "1", "slot", "polynomial gradients of the harmonics (NEP)"),
    Field(PHI, "(A, LM, T·K_A)", "1", "atom", "Σ_j f_k Y_lm per neighbour type (NEP)"),
    Field(ATOM_POSITIONS, "(A, 3)", "Å", "atom", "Cartesian positions (the Ewald sum of a charge-aware NEP; MACE)"),
    Field(FRAME_CELL, "(F, 3, 3)", "Å", "frame", "lattice vectors as rows (the Ewald sum of a charge-aware NEP; MACE)"),
    Field(EDGE_I, "(P,)", "1", "edge", "sender (centre) atom of each edge (MACE)"),
    Field(EDGE_J, "(P,)", "1", "edge", "receiver (neighbour) atom of each edge (MACE)"),
    Field(EDGE_SHIFT, "(P, 3)", "Å", "edge", "Cartesian cell shift S·cell of each edge's neighbour image (MACE)"),
    Field(EDGE_UNIT_SHIFT, "(P, 3)", "1", "edge", "integer cell shift S of each edge, stored as floats (MACE)"),
    Field(G, "(A, D)", "1", "atom", "symmetry-function descriptors (BP)"),
    Field(DG, "(A, M_R, D, 3)", "1/Å", "slot", "descriptor derivatives with respect to each pair vector (BP)"),
)}


def describe(name: str) -> str:
    """``"forces: (n_atoms, 3) | eV/Å | forces −∂E/∂r"`` for a registered field; ``KeyError`` otherwise."""
    f = FIELDS[name] if name in FIELDS else BATCH_FIELDS[name]
    return f"{f.name}: {f.shape} | {f.unit} | {f.doc}"
