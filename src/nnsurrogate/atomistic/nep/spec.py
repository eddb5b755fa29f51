"""The hyperparameters of a NEP4 model (what the header of a ``nep.txt`` says)."""

from __future__ import annotations

from dataclasses import dataclass

from nnsurrogate.atomistic.nep.basis import L_MAX, n_components
from nnsurrogate.core.errors import UserInputError


@dataclass(frozen=True)
class NEPSpec:
    """Architecture of a NEP4 potential (GPUMD's ``nep.in`` keywords).

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
        Inner and outer cutoff (Å) of GPUMD's universal ZBL short-range repulsion (``nep4_zbl``
        files), added to the network's energy; ``None`` without it.
    """

    species: tuple[str, ...]
    cutoff: tuple[float, float] = (5.0, 4.0)
    n_max: tuple[int, int] = (4, 4)
    basis_size: tuple[int, int] = (8, 8)
    l_max: tuple[int, int, int] = (4, 2, 0)
    neurons: int = 30
    max_neighbors: tuple[int, int] = (100, 100)
    zbl: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        where = "NEP hyperparameters"
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
        if self.zbl is not None and not (0.0 < self.zbl[0] < self.zbl[1] <= rc_a):
            raise UserInputError(f"ZBL cutoffs must satisfy 0 < inner < outer ≤ the angular cutoff, got {self.zbl}", where)

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
        """Angular terms per n: the three-body l = 1 … l_max, plus the 4- and 5-body terms if on."""
        return self.l_max[0] + (self.l_max[1] > 0) + (self.l_max[2] > 0)

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
        return t * (d + 2) * h + 1 + (self.n_radial * kr + self.n_angular * ka) * t * t

    def to_json(self) -> dict:
        return {"species": list(self.species), "cutoff": list(self.cutoff), "n_max": list(self.n_max),
                "basis_size": list(self.basis_size), "l_max": list(self.l_max), "neurons": self.neurons,
                "max_neighbors": list(self.max_neighbors), **({"zbl": list(self.zbl)} if self.zbl else {})}

    @classmethod
    def from_json(cls, data: dict) -> "NEPSpec":
        return cls(species=tuple(data["species"]), cutoff=tuple(float(v) for v in data["cutoff"]),
                   n_max=tuple(int(v) for v in data["n_max"]), basis_size=tuple(int(v) for v in data["basis_size"]),
                   l_max=tuple(int(v) for v in data["l_max"]), neurons=int(data["neurons"]),
                   max_neighbors=tuple(int(v) for v in data["max_neighbors"]),
                   zbl=tuple(float(v) for v in data["zbl"]) if data.get("zbl") else None)
