"""Powder X-ray diffraction patterns of crystal structures, as a spectra table (crystal → tabular spectra).

Each structure's reflections are computed by pymatgen's ``XRDCalculator`` (kinematic theory with
atomic scattering factors, Lorentz-polarisation correction; Cu Kα, λ = 1.54184 Å, by default) in a
2θ range; the table has one row per reflection — ``id``, ``x`` (2θ, degrees), ``intensity`` (the
strongest peak = 100) — and the requested target columns, ready for ``nnsurrogate spectra train``
(which renders the peaks on a grid).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.files import refuse_overwriting
from nnsurrogate.core.tables import write_table


def to_pymatgen(crystal):
    """A :class:`pymatgen.core.Structure` of a :class:`~nnsurrogate.crystal.structures.Crystal`."""
    from pymatgen.core import Lattice, Structure

    return Structure(Lattice(crystal.cell), [int(z) for z in crystal.numbers], crystal.positions,
                     coords_are_cartesian=True)


def xrd_peaks(crystal, two_theta: tuple[float, float] = (10.0, 90.0), wavelength: str = "CuKa",
              calculator=None) -> tuple[np.ndarray, np.ndarray]:
    """Reflection positions 2θ (degrees) and relative intensities (max 100) of one structure."""
    from pymatgen.analysis.diffraction.xrd import XRDCalculator

    calc = calculator or XRDCalculator(wavelength=wavelength)
    pattern = calc.get_pattern(to_pymatgen(crystal), scaled=True, two_theta_range=two_theta)
    return np.asarray(pattern.x, dtype=np.float64), np.asarray(pattern.y, dtype=np.float64)


def xrd_table(data: str, out: str, targets: tuple[str, ...] = (), two_theta: tuple[float, float] = (10.0, 90.0),
              wavelength: str = "CuKa", skip_bad: bool = False) -> pd.DataFrame:
    """Powder patterns of every structure in *data* (any format ``crystal train`` reads) as a long table.

    Returns the table written to *out* (CSV or Parquet); ``attrs["skipped"]`` lists skipped entries.
    """
    from pymatgen.analysis.diffraction.xrd import WAVELENGTHS, XRDCalculator

    from nnsurrogate.crystal.io import read_crystals

    lo, hi = (float(v) for v in two_theta)
    if not (0.0 < lo < hi < 180.0):
        raise UserInputError(f"2θ range must satisfy 0 < start < stop < 180 degrees, got {lo}:{hi}", "two_theta")
    if wavelength not in WAVELENGTHS:
        raise UserInputError(f"unknown X-ray line '{wavelength}'; use one of {', '.join(sorted(WAVELENGTHS))}",
                             "wavelength")
    if not str(out).lower().endswith((".csv", ".parquet", ".pq")):
        raise UserInputError("the output must be a .csv or .parquet file", str(out))
    refuse_overwriting(out, data)
    first = read_crystals(data, targets[0] if targets else None, skip_bad=skip_bad)
    values = {targets[0]: first.targets} if targets else {}
    for name in targets[1:]:
        other = read_crystals(data, name, skip_bad=skip_bad)
        values[name] = dict(zip([c.id for c in other.crystals], other.targets))
        values[name] = np.array([values[name].get(c.id, np.nan) for c in first.crystals])
    calc = XRDCalculator(wavelength=wavelength)
    blocks = []
    for k, crystal in enumerate(first.crystals):
        x, y = xrd_peaks(crystal, (lo, hi), wavelength, calc)
        block = pd.DataFrame({"id": str(crystal.id), "x": x, "intensity": y})
        for name, v in values.items():
            block[name] = v[k]
        blocks.append(block)
    table = pd.concat(blocks, ignore_index=True)
    write_table(table, out)
    table.attrs["skipped"] = first.skipped
    return table
