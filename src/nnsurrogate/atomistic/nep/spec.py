"""The hyperparameters of a NEP model (what the header of a ``nep.txt`` says)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnsurrogate.atomistic.nep.basis import HIGHER_BODY, L_MAX, n_components
from nnsurrogate.core.errors import UserInputError

#: What a NEP predicts: the potential energy (forces, virial), a dipole or a polarizability (tensorial NEP).
MODEL_TYPES = ("potential", "dipole", "polarizability")


@dataclass(frozen=True)
class NEPSpec:
    """Architecture of a NEP3 or NEP4 model (GPUMD's ``nep.in`` keywords).

    Attributes
    ----------
    species : tuple of str
        Chemical symbols in the model's type order (type 0, 1, …).
    cutoff : (float, float)
        Radial and angular cutoffs r_c^R ≥ r_c^A, Å.
    n_max : (int, int)
        Highest radial and angular descriptor index (n_max + 1 descriptors each).
    basis_size : (int, int)
        Highest Chebyshev order of the radial and angular basis (basis_size + 1 functions).
    l_max : (int, int, int)
        Three-body l_max (1 … 4), four-body flag (0 or 2), five-body flag (0 or 1).
    neurons : int
        Hidden neurons of each element's network.
    max_neighbors : (int, int)
        Largest radial / angular neighbour counts in the training data (written to ``nep.txt``
        because GPUMD sizes its neighbour lists from them).
    zbl : (float, float) or None
        Inner and outer cutoff (Å) of GPUMD's ZBL short-range repulsion (``nep4_zbl`` files), added to
        the network's energy; ``(0, 0)`` for the flexible ZBL, whose pair parameters the model holds
        (``zbl_params``); ``None`` without it.
    zbl_factor : float or None
        Type-wise ZBL cutoffs (a third number on GPUMD's ``zbl`` line): the outer cutoff of a pair
        is min(zbl_factor·(R_i + R_j), outer), R the covalent radii GPUMD tabulates, the inner 0.
    version : int
        3 (NEP3: one network shared by every element) or 4 (one network per element).
    model_type : str
        One of :data:`MODEL_TYPES`.
    type_cutoffs : tuple of (float, float) or None
        Type-wise cutoffs: each element's radial and angular cutoff (Å); a pair of types i, j uses
        their mean. ``cutoff`` is then the largest of them.
    charge_mode : int
        0, or GPUMD's charge-aware NEP (qNEP) mode 1, 2 or 3 (:mod:`~nnsurrogate.atomistic.nep.charge`):
        each network has a second output, the atom's charge.
    l_max_flags : tuple of int or None
        The numbers of a ``nep.txt`` l_max line written in GPUMD's newer flag form
        (``L q222 q1111 [q112 q123 q233 q134]``, 0 or 1 each), kept so that the file re-exports as it
        was; its last four switch on the higher-body descriptors (:data:`~nnsurrogate.atomistic.nep.basis.HIGHER_BODY`).
        ``None``: the ``L 0|2 0|1`` form.
    """

    species: tuple[str, ...]
    cutoff: tuple[float, float] = (5.0, 4.0)
    n_max: tuple[int, int] = (4, 4)
    basis_size: tuple[int, int] = (8, 8)
    l_max: tuple[int, int, int] = (4, 2, 0)
    neurons: int = 30
    max_neighbors: tuple[int, int] = (100, 100)
    zbl: tuple[float, float] | None = None
    zbl_factor: float | None = None
    version: int = 4
    model_type: str = "potential"
    type_cutoffs: tuple[tuple[float, float], ...] | None = None
    l_max_flags: tuple[int, ...] | None = None
    charge_mode: int = 0

    def __post_init__(self) -> None:
        where = "NEP hyperparameters"
        if self.type_cutoffs is not None:
            self._check_type_cutoffs(where)
        if not self.species or len(set(self.species)) != len(self.species):
            raise UserInputError(f"species must be a non-empty list of distinct symbols, got {self.species}", where)
        rc_r, rc_a = self.cutoff
        if not (0.0 < rc_a <= rc_r):
            raise UserInputError(f"cutoffs must satisfy 0 < angular ≤ radial, got {rc_r}, {rc_a} Å", where)
        if min(self.n_max) < 0 or min(self.basis_size) < 0 or max(self.n_max) > 19 or max(self.basis_size) > 19:
            raise UserInputError(f"n_max and basis_size must be between 0 and 19, got {self.n_max}, {self.basis_size}", where)
        l3, l4, l5 = self.l_max
        if not 1 <= l3 <= L_MAX or l4 not in (0, 2) or l5 not in (0, 1):
            raise UserInputError(f"l_max must be (1…{L_MAX}, 0 or 2, 0 or 1), got {self.l_max}", where)
        if (l4 and l3 < 2) or self.neurons < 1:
            raise UserInputError(f"four-body terms need l_max ≥ 2 and neurons ≥ 1, got {self.l_max}, {self.neurons}", where)
        if self.version not in (3, 4) or self.model_type not in MODEL_TYPES:
            raise UserInputError(f"NEP version must be 3 or 4 and the model type one of {', '.join(MODEL_TYPES)}, got "
                                 f"{self.version} and '{self.model_type}'", where)
        if self.zbl is not None:
            self._check_zbl(where)
        if self.charge_mode not in (0, 1, 2, 3) or (self.charge_mode and (
                self.model_type != "potential" or self.version != 4 or self.type_cutoffs is not None)):
            raise UserInputError(f"charge mode {self.charge_mode}: qNEP is a NEP4 potential (mode 1, 2 or 3) without "
                                 "type-wise cutoffs", where)
        flags = self.l_max_flags
        if flags is not None and (not 3 <= len(flags) <= 7 or any(f not in (0, 1) for f in flags[1:]) or
                                  (flags[0], 2 * flags[1], flags[2]) != tuple(self.l_max)):
            raise UserInputError(f"the l_max flags {flags} do not match l_max {self.l_max}", where)
        for on, ls in zip(self.higher_body, HIGHER_BODY):
            if on and max(ls) > l3:
                raise UserInputError(f"the ({', '.join(map(str, ls))}) descriptor needs l_max ≥ {max(ls)}, got {l3}",
                                     where)

    @property
    def higher_body(self) -> tuple[int, int, int, int]:
        """Flags of the higher-body descriptors q112, q123, q233, q134 (extended l_max line)."""
        extra = tuple(self.l_max_flags[3:]) if self.l_max_flags else ()
        return (extra + (0, 0, 0, 0))[:4]

    def _check_type_cutoffs(self, where: str) -> None:
        cuts = tuple((float(r), float(a)) for r, a in self.type_cutoffs)
        if len(cuts) != len(self.species) or any(not 0.0 < a <= r for r, a in cuts):
            raise UserInputError(f"type-wise cutoffs need one (radial, angular) pair per element with 0 < angular ≤ "
                                 f"radial, got {self.type_cutoffs}", where)
        object.__setattr__(self, "type_cutoffs", cuts)
        object.__setattr__(self, "cutoff", (max(r for r, _ in cuts), max(a for _, a in cuts)))

    def _check_zbl(self, where: str) -> None:
        inner, outer = self.zbl
        if self.model_type != "potential":
            raise UserInputError("the ZBL term belongs to potentials, not to tensorial (dipole, polarizability) NEP", where)
        if self.zbl_flexible:
            if self.zbl_factor is not None:
                raise UserInputError("the flexible ZBL (zbl 0 0) takes no type-wise cutoff factor", where)
            return
        lowest = float(self.pair_cutoffs(0).min())
        if not (0.0 < inner < outer <= min(self.cutoff[1], lowest)):
            raise UserInputError(f"ZBL cutoffs must satisfy 0 < inner < outer ≤ the angular cutoff and every pair's "
                                 f"radial cutoff, got {self.zbl}", where)
        if self.zbl_factor is not None and not self.zbl_factor > 0:
            raise UserInputError(f"the type-wise ZBL cutoff factor must be positive, got {self.zbl_factor}", where)

    @property
    def zbl_flexible(self) -> bool:
        """The flexible ZBL: fitted parameters per pair of types (``zbl 0 0``)."""
        return self.zbl is not None and tuple(self.zbl) == (0.0, 0.0)

    @property
    def n_networks(self) -> int:
        """Networks in the model: one per element (NEP4) or one shared (NEP3)."""
        return 1 if self.version == 3 else self.n_types

    def pair_cutoffs(self, which: int) -> np.ndarray:
        """(T, T) cutoff of each pair of types, Å: *which* 0 radial, 1 angular (type-wise: the mean)."""
        if self.type_cutoffs is None:
            return np.full((self.n_types, self.n_types), float(self.cutoff[which]))
        own = np.array([c[which] for c in self.type_cutoffs])
        return 0.5 * (own[:, None] + own[None, :])

    @property
    def n_types(self) -> int:
        return len(self.species)

    @property
    def n_radial(self) -> int:
        """Radial descriptors per atom, n_max^R + 1."""
        return self.n_max[0] + 1

    @property
    def n_angular(self) -> int:
        """Angular descriptors per atom per l term, n_max^A + 1."""
        return self.n_max[1] + 1

    @property
    def n_lterms(self) -> int:
        """Angular terms per n: the three-body l = 1 … l_max, plus the 4- and 5-body terms and the
        higher-body ones (extended l_max line) that are on."""
        return self.l_max[0] + (self.l_max[1] > 0) + (self.l_max[2] > 0) + sum(self.higher_body)

    @property
    def n_harmonics(self) -> int:
        """Harmonic components accumulated per (atom, n): (l_max + 1)² − 1."""
        return n_components(self.l_max[0])

    @property
    def n_descriptors(self) -> int:
        """Descriptor length D = (n_max^R + 1) + (n_max^A + 1)·n_lterms."""
        return self.n_radial + self.n_angular * self.n_lterms

    @property
    def n_basis(self) -> tuple[int, int]:
        """Radial and angular basis functions, basis_size + 1."""
        return self.basis_size[0] + 1, self.basis_size[1] + 1

    def n_parameters(self) -> int:
        """Parameters stored in ``nep.txt`` before the q_scaler (networks, then descriptor coefficients)."""
        t, h, d = self.n_types, self.neurons, self.n_descriptors
        kr, ka = self.n_basis
        networks = (self.n_networks * (d + 2) * h + 1) * (2 if self.model_type == "polarizability" else 1)
        if self.charge_mode:  # each network's charge output weights, and √ε∞ (GPUMD's BEC scale)
            networks += self.n_networks * h + 1
        return networks + (self.n_radial * kr + self.n_angular * ka) * t * t

    @property
    def n_zbl_parameters(self) -> int:
        """Numbers of the flexible ZBL after the q_scaler: 10 per unordered pair of types."""
        return 10 * self.n_types * (self.n_types + 1) // 2 if self.zbl_flexible else 0

    def to_json(self) -> dict:
        return {"species": list(self.species), "cutoff": list(self.cutoff), "n_max": list(self.n_max),
                "basis_size": list(self.basis_size), "l_max": list(self.l_max), "neurons": self.neurons,
                "max_neighbors": list(self.max_neighbors), **({"zbl": list(self.zbl)} if self.zbl else {}),
                **({"zbl_factor": self.zbl_factor} if self.zbl_factor is not None else {}),
                **({"version": self.version} if self.version != 4 else {}),
                **({"model_type": self.model_type} if self.model_type != "potential" else {}),
                **({"type_cutoffs": [list(c) for c in self.type_cutoffs]} if self.type_cutoffs else {}),
                **({"l_max_flags": list(self.l_max_flags)} if self.l_max_flags else {}),
                **({"charge_mode": self.charge_mode} if self.charge_mode else {})}

    @classmethod
    def from_json(cls, data: dict) -> "NEPSpec":
        return cls(species=tuple(data["species"]), cutoff=tuple(float(v) for v in data["cutoff"]),
                   n_max=tuple(int(v) for v in data["n_max"]), basis_size=tuple(int(v) for v in data["basis_size"]),
                   l_max=tuple(int(v) for v in data["l_max"]), neurons=int(data["neurons"]),
                   max_neighbors=tuple(int(v) for v in data["max_neighbors"]),
                   zbl=tuple(float(v) for v in data["zbl"]) if data.get("zbl") else None,
                   zbl_factor=data.get("zbl_factor"), version=int(data.get("version", 4)),
                   model_type=data.get("model_type", "potential"),
                   type_cutoffs=tuple(tuple(float(v) for v in c) for c in data["type_cutoffs"])
                   if data.get("type_cutoffs") else None,
                   l_max_flags=tuple(int(v) for v in data["l_max_flags"]) if data.get("l_max_flags") else None,
                   charge_mode=int(data.get("charge_mode", 0)))
