"""Units read from column names such as ``thickness_nm`` or ``kappa_W_mK``.

The convention is a trailing unit token after the last underscore (``temperature_K``), or one of
the compound suffixes below. Unknown suffixes give ``None``: a unit is metadata, never required.
"""

from __future__ import annotations

_COMPOUND = {
    "W_mK": "W/(m·K)",
    "W_m_K": "W/(m·K)",
    "eV_atom": "eV/atom",
    "meV_atom": "meV/atom",
    "eV_A": "eV/Å",
    "meV_A": "meV/Å",
    "eV_A3": "eV/Å³",
    "meV_molecule": "meV/molecule",
    "J_mol": "J/mol",
    "S_m": "S/m",
}
_SIMPLE = {
    "nm": "nm", "um": "µm", "mm": "mm", "m": "m", "A": "Å", "K": "K", "C": "°C", "eV": "eV", "meV": "meV",
    "GPa": "GPa", "MPa": "MPa", "Pa": "Pa", "N": "N", "s": "s", "fs": "fs", "ps": "ps", "g": "g", "kg": "kg",
    "W": "W", "J": "J", "V": "V", "Hz": "Hz", "THz": "THz", "percent": "%", "pct": "%",
}


def unit_from_name(column: str) -> str | None:
    """Return the unit encoded in a column name, e.g. ``'kappa_W_mK' → 'W/(m·K)'``, or ``None``."""
    for suffix, unit in _COMPOUND.items():
        if column.endswith("_" + suffix):
            return unit
    head, sep, last = column.rpartition("_")
    if sep and head:
        return _SIMPLE.get(last)
    return None
