"""Remake the small example files in this folder (the README's and the tutorials' commands use them).

Run from the repository root: ``python examples/make_examples.py``. Every file is deterministic
(seed 0); ``expt_gap_400.csv`` is real data and is not remade here (see README.md).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
GAS_CONSTANT = 8.314462618  # J/(mol·K): p [kPa] = n R T / V [L]
#: fcc lattice constants, Å (Vegard's law gives an alloy's)
LATTICE = {"Cu": 3.61, "Ag": 4.09, "Au": 4.08, "Ni": 3.52, "Pd": 3.89, "Pt": 3.92}


def new_films() -> pd.DataFrame:
    """Five films to predict, with an ID and a note that the predictions keep."""
    return pd.DataFrame({"film": ["A1", "A2", "B1", "B2", "C1"],
                         "thickness_nm": [20.0, 100.0, 500.0, 2000.0, 8000.0],
                         "roughness_nm": [0.5, 0.5, 1.0, 1.0, 2.0],
                         "temperature_K": [300.0, 300.0, 300.0, 400.0, 500.0],
                         "note": ["SOI wafer", "SOI wafer", "membrane", "membrane", "thick film"]})


def gap_candidates() -> pd.DataFrame:
    """Semiconductors to screen for their band gap (none of them in expt_gap_400.csv)."""
    known = set(pd.read_csv(HERE / "expt_gap_400.csv").formula)
    names = ["GaN", "ZnO", "CdTe", "AlN", "InP", "GaAs", "ZnSe", "SiC", "MgO", "CuInSe2", "Cu2ZnSnS4", "TiO2"]
    return pd.DataFrame({"formula": [n for n in names if n not in known]})


def ideal_gas(n_rows: int = 300, noise: float = 0.01) -> pd.DataFrame:
    """p = nRT/V with *noise* relative Gaussian noise: a law symbolic regression should find."""
    rng = np.random.default_rng(0)
    n, T, V = rng.uniform(0.5, 5.0, n_rows), rng.uniform(200.0, 600.0, n_rows), rng.uniform(10.0, 100.0, n_rows)
    p = GAS_CONSTANT * n * T / V * (1 + noise * rng.standard_normal(n_rows))
    return pd.DataFrame({"n_mol": n, "T_K": T, "V_L": V, "p_kPa": p}).round(5)


def measurements(n: int = 40, alpha: float = 0.15) -> pd.DataFrame:
    """Noisy temperatures of the heat rod (L = 1, t_end = 1, ends at 0 and 1) with diffusivity *alpha*."""
    from nnsurrogate.pde import HeatRod
    from nnsurrogate.pde.inverse import synthetic_measurements

    rod = HeatRod(alpha=alpha, length=1.0, t_end=1.0, t_left=0.0, t_right=1.0, t_initial=0.0)
    m = synthetic_measurements(rod, n=n, noise=0.01, seed=0)
    return pd.DataFrame({"x": m.x, "t": m.t, "T": m.T}).round(6)


def _alloy(rng: np.random.Generator, pure: dict[str, float]):
    from ase.build import bulk
    from ase.calculators.emt import EMT

    pair = rng.choice(list(LATTICE), 2, replace=False)
    atoms = bulk("Cu", "fcc", a=1.0, cubic=True).repeat((1, 1, 2))
    share = rng.uniform(0.1, 0.9)
    atoms.set_chemical_symbols([pair[0] if rng.random() < share else pair[1] for _ in atoms])
    a = np.mean([LATTICE[s] for s in atoms.get_chemical_symbols()])
    atoms.set_cell(atoms.cell * a, scale_atoms=True)
    atoms.calc = EMT()
    e_mix = atoms.get_potential_energy() / len(atoms) - np.mean([pure[s] for s in atoms.get_chemical_symbols()])
    return atoms, float(e_mix)


def alloys(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, list]:
    """8-atom binary fcc alloys of Cu, Ag, Au, Ni, Pd, Pt: CIF text and EMT mixing energy, eV/atom."""
    from ase.build import bulk
    from ase.calculators.emt import EMT
    from ase.io import write

    pure = {}
    for metal, a in LATTICE.items():
        cell = bulk(metal, "fcc", a=a, cubic=True)
        cell.calc = EMT()
        pure[metal] = cell.get_potential_energy() / len(cell)
    rng = np.random.default_rng(seed)
    rows, structures = [], []
    for i in range(n):
        atoms, e_mix = _alloy(rng, pure)
        text = io.BytesIO()
        write(text, atoms, format="cif")
        rows.append({"id": f"alloy{i:03d}", "formula": atoms.get_chemical_formula(), "e_mix_eV_atom": round(e_mix, 6),
                     "cif": text.getvalue().decode()})
        structures.append(atoms)
    return pd.DataFrame(rows), structures


def main() -> None:
    new_films().to_csv(HERE / "new_films.csv", index=False)
    gap_candidates().to_csv(HERE / "gap_candidates.csv", index=False)
    ideal_gas().to_csv(HERE / "ideal_gas.csv", index=False)
    measurements().to_csv(HERE / "measurements.csv", index=False)
    table, _ = alloys(300, seed=0)
    table.to_csv(HERE / "alloys.csv", index=False)
    from ase.io import write

    folder = HERE / "structures"
    folder.mkdir(exist_ok=True)
    _, new = alloys(3, seed=1)
    for i, atoms in enumerate(new):
        write(folder / f"new_alloy_{i}.cif", atoms, format="cif")


if __name__ == "__main__":
    main()
