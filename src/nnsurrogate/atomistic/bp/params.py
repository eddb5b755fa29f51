"""Symmetry-function parameters of a Behler–Parrinello potential: automatic choice and override files.

Behler's atom-centred symmetry functions (J. Behler, J. Chem. Phys. 134, 074106 (2011), Eqs. 6–9)
need a cutoff r_c, radial pairs (η, R_s) for G2 and angular triplets (η, ζ, λ) for G4 or G5. The
automatic choice follows the "shifted" grid of Gastegger et al. (J. Chem. Phys. 148, 241709 (2018)):

- radial: R_s on an even grid from the shortest interatomic distance r_min seen in the data up to
  r_c, R_s,k = r_min + k Δ with Δ = (r_c − r_min)/n_radial, each Gaussian of width Δ, η = 1/(2Δ²);
- angular: ζ ∈ {1, 4} (broad and narrow around θ = 0 or π), λ = ±1, and two widths
  η = 1/(3 r_c²) and η = 1/(3 r_mid²) with r_mid = (r_min + r_c)/2, so that the exponent
  η (r_ij² + r_ik² + r_jk²) is about 1 for neighbours at r_c and at r_mid respectively.

A JSON or YAML file may replace any part of the choice (see :func:`read_parameter_file`).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnsurrogate.core.errors import UserInputError

ANGULAR_KINDS = ("g4", "g5")
#: Default ζ values and the number of angular widths of the automatic choice.
AUTO_ZETAS = (1.0, 4.0)


@dataclass(frozen=True)
class SymmetryFunctions:
    """Parameters of the G2 and G4/G5 symmetry functions (Å, Å⁻²).

    Attributes
    ----------
    cutoff : float
        r_c of the cosine cutoff f_c(r) = ½(cos(π r / r_c) + 1) of the radial functions, Å.
    radial : tuple of (η, R_s)
        G2 parameters, η in Å⁻², R_s in Å.
    angular : tuple of (η, ζ, λ)
        G4 / G5 parameters, η in Å⁻², ζ ≥ 1, λ = ±1.
    angular_kind : {"g4", "g5"}
        G4 includes r_jk in the Gaussian and the cutoff; G5 does not.
    angular_cutoff : float or None
        Cutoff of the angular functions, Å (≤ ``cutoff``; ``None``: the same as ``cutoff``, as in
        Behler's original). A shorter one, as in ANI (Smith et al., Chem. Sci. 8, 3192 (2017)),
        cuts the cost of the three-body sums, which grows with the square of the neighbour count.
    """

    cutoff: float
    radial: tuple[tuple[float, float], ...]
    angular: tuple[tuple[float, float, float], ...]
    angular_kind: str = "g4"
    angular_cutoff: float | None = None

    def __post_init__(self) -> None:
        where = "symmetry functions"
        if not (math.isfinite(self.cutoff) and self.cutoff > 0):
            raise UserInputError(f"the cutoff must be a positive number of Å, got {self.cutoff}", where)
        if self.angular_cutoff is not None and not (0 < self.angular_cutoff <= self.cutoff):
            raise UserInputError(f"the angular cutoff must be in (0, {self.cutoff}] Å, got {self.angular_cutoff}", where)
        if self.angular_kind not in ANGULAR_KINDS:
            raise UserInputError(f"angular kind must be g4 or g5, got '{self.angular_kind}'", where)
        if not self.radial:
            raise UserInputError("at least one radial (G2) function is needed", where)
        for eta, rs in self.radial:
            if not (eta >= 0 and 0 <= rs < self.cutoff and math.isfinite(eta)):
                raise UserInputError(f"G2 needs η ≥ 0 and 0 ≤ R_s < r_c, got η={eta}, R_s={rs}", where)
        for eta, zeta, lam in self.angular:
            if not (eta >= 0 and math.isfinite(eta) and zeta >= 1 and math.isfinite(zeta) and lam in (-1.0, 1.0)):
                raise UserInputError(f"G4/G5 need η ≥ 0, ζ ≥ 1 and λ = ±1, got η={eta}, ζ={zeta}, λ={lam}", where)

    @property
    def rc_angular(self) -> float:
        """Cutoff of the angular functions, Å."""
        return self.cutoff if self.angular_cutoff is None else self.angular_cutoff

    @property
    def n_radial(self) -> int:
        return len(self.radial)

    @property
    def n_angular(self) -> int:
        return len(self.angular)

    def n_descriptors(self, n_types: int) -> int:
        """D = T·n_radial + T(T+1)/2·n_angular (radial per neighbour element, angular per element pair)."""
        return n_types * self.n_radial + n_types * (n_types + 1) // 2 * self.n_angular

    def to_json(self) -> dict:
        return {"cutoff": self.cutoff, "angular_cutoff": self.angular_cutoff, "angular_kind": self.angular_kind,
                "radial": [list(p) for p in self.radial], "angular": [list(p) for p in self.angular]}

    @classmethod
    def from_json(cls, data: dict) -> "SymmetryFunctions":
        rca = data.get("angular_cutoff")
        return cls(cutoff=float(data["cutoff"]), angular_kind=str(data.get("angular_kind", "g4")),
                   angular_cutoff=None if rca is None else float(rca),
                   radial=tuple((float(e), float(r)) for e, r in data["radial"]),
                   angular=tuple((float(e), float(z), float(lam)) for e, z, lam in data["angular"]))


def shortest_distance(frames: Sequence, cutoff: float, max_frames: int = 200) -> float:
    """Smallest interatomic distance (Å) among up to *max_frames* evenly spaced frames; *cutoff* if none."""
    from nnsurrogate.atomistic.neighbors import atoms_pairs

    step = max(1, len(frames) // max_frames)
    shortest = cutoff
    for atoms in list(frames)[::step]:
        pairs = atoms_pairs(atoms, cutoff)
        if len(pairs.distances):
            shortest = min(shortest, float(pairs.distances.min()))
    return shortest


def auto_parameters(frames: Sequence, cutoff: float = 5.0, n_radial: int = 8, zetas: Sequence[float] = AUTO_ZETAS,
                    angular_kind: str = "g4", angular_cutoff: float | None = None) -> SymmetryFunctions:
    """The automatic choice described in the module docstring, from the distances in *frames*.

    Parameters
    ----------
    frames : sequence of ase.Atoms
        Training structures.
    cutoff : float
        r_c, Å.
    n_radial : int
        Number of G2 functions (per neighbour element).
    zetas : sequence of float
        ζ values of the angular functions (each with λ = ±1 and two widths).
    angular_kind : {"g4", "g5"}
    angular_cutoff : float, optional
        Cutoff of the angular functions, Å (default: *cutoff*).
    """
    if n_radial < 1:
        raise UserInputError(f"n_radial must be at least 1, got {n_radial}", "symmetry functions")
    r_min = min(shortest_distance(frames, cutoff), 0.9 * cutoff)
    r_min = max(0.5 * r_min, r_min - 0.2)  # a margin: configurations closer than any in the data
    spacing = (cutoff - r_min) / n_radial
    radial = tuple((1.0 / (2.0 * spacing**2), r_min + k * spacing) for k in range(n_radial))
    rca = cutoff if angular_cutoff is None else min(float(angular_cutoff), cutoff)
    r_mid = 0.5 * (min(r_min, 0.9 * rca) + rca)
    etas = (1.0 / (3.0 * rca**2), 1.0 / (3.0 * r_mid**2))
    angular = tuple((eta, float(z), lam) for eta in etas for z in zetas for lam in (1.0, -1.0))
    return SymmetryFunctions(cutoff=float(cutoff), radial=radial, angular=angular, angular_kind=angular_kind,
                             angular_cutoff=None if angular_cutoff is None else rca)


def read_parameter_file(path: str | os.PathLike) -> dict:
    """Read an override file (``.json``, or ``.yaml``/``.yml`` when PyYAML is installed).

    Keys, all optional: ``cutoff`` (Å), ``angular_cutoff`` (Å), ``angular_kind`` (``g4``/``g5``), ``n_radial`` (int, for the
    automatic grid), ``zetas`` (list), ``radial`` (list of ``[eta, rs]`` or ``{"eta":…, "rs":…}``),
    ``angular`` (list of ``[eta, zeta, lambda]`` or ``{"eta":…, "zeta":…, "lambda":…}``). Given
    ``radial`` or ``angular`` lists replace the automatic ones.
    """
    path = Path(path)
    if not path.is_file():
        raise UserInputError("no such symmetry-function file", str(path))
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError:
                raise UserInputError("reading YAML needs PyYAML (pip install pyyaml); or use JSON", str(path)) from None
            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except (ValueError, TypeError) as exc:  # json.JSONDecodeError and yaml.YAMLError derive from these
        raise UserInputError(f"cannot parse the symmetry-function file: {str(exc).splitlines()[0]}", str(path)) from None
    except Exception as exc:  # noqa: BLE001 - yaml.YAMLError does not derive from ValueError
        raise UserInputError(f"cannot parse the symmetry-function file: {type(exc).__name__}", str(path)) from None
    if not isinstance(data, dict):
        raise UserInputError("the symmetry-function file must hold a mapping of keys", str(path))
    unknown = sorted(set(data) - {"cutoff", "angular_cutoff", "angular_kind", "n_radial", "zetas", "radial", "angular"})
    if unknown:
        raise UserInputError(f"unknown key(s) {', '.join(unknown)} in the symmetry-function file", str(path))
    return _normalise(data, str(path))


def _rows(items, names: tuple[str, ...], where: str) -> tuple[tuple[float, ...], ...]:
    rows = []
    for item in items:
        values = [item.get(n, item.get("lam") if n == "lambda" else None) for n in names] if isinstance(item, dict) else item
        try:
            row = tuple(float(v) for v in values)
        except (TypeError, ValueError):
            raise UserInputError(f"expected {len(names)} numbers ({', '.join(names)}) per entry, got {item!r}", where) from None
        if len(row) != len(names):
            raise UserInputError(f"expected {len(names)} numbers ({', '.join(names)}) per entry, got {item!r}", where)
        rows.append(row)
    return tuple(rows)


def _normalise(data: dict, where: str) -> dict:
    out = dict(data)
    if "radial" in out:
        out["radial"] = _rows(out["radial"], ("eta", "rs"), where)
    if "angular" in out:
        out["angular"] = _rows(out["angular"], ("eta", "zeta", "lambda"), where)
    return out


def choose_parameters(frames: Sequence, cutoff: float = 5.0, n_radial: int = 8, angular_kind: str = "g4",
                      overrides: dict | None = None, angular_cutoff: float | None = None) -> SymmetryFunctions:
    """Automatic parameters for *frames*, with any entry of *overrides* (from :func:`read_parameter_file`) taking precedence."""
    o = dict(overrides or {})
    cutoff = float(o.get("cutoff", cutoff))
    zetas = tuple(float(z) for z in o.get("zetas", AUTO_ZETAS))
    kind = str(o.get("angular_kind", angular_kind))
    rca = o.get("angular_cutoff", angular_cutoff)
    rca = None if rca is None else float(rca)
    need_auto = "radial" not in o or "angular" not in o
    auto = auto_parameters(frames, cutoff, int(o.get("n_radial", n_radial)), zetas, kind, rca) if need_auto else None
    radial = tuple(o["radial"]) if "radial" in o else auto.radial
    angular = tuple(o["angular"]) if "angular" in o else auto.angular
    return SymmetryFunctions(cutoff=cutoff, radial=radial, angular=angular, angular_kind=kind, angular_cutoff=rca)


def radial_grid_summary(sf: SymmetryFunctions) -> str:
    """One line naming the radial and angular choice, e.g. for a log."""
    rs = np.array([r for _, r in sf.radial])
    return (f"r_c {sf.cutoff:g} Å; {sf.n_radial} G2 with R_s {rs.min():.2f}–{rs.max():.2f} Å; "
            f"{sf.n_angular} {sf.angular_kind.upper()} within {sf.rc_angular:g} Å")
