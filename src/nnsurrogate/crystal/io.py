"""Reading crystal data sets: CSV/Parquet with a CIF column, pymatgen JSON, CGCNN folders, CIF, POSCAR, extxyz.

Supported sources (:func:`read_crystals`):

- a table (``.csv``, ``.parquet``) with a ``cif`` column of CIF text, one structure per row, an
  optional id column (``material_id``, ``id`` or ``name``) and the target column
  (as ``perov5/val.csv``);
- a JSON file (``.json`` or ``.json.gz``) of pymatgen ``Structure.as_dict()`` objects: a pandas
  ``orient="split"`` table (``columns`` / ``data``, as matminer's data sets) or a list of records
  with a ``structure`` field, or a bare list of structure dictionaries;
- a CGCNN folder: ``id_prop.csv`` (no header; id, target) beside ``<id>.cif`` files; a folder without
  ``id_prop.csv`` yields every structure file in it (for prediction);
- a single ``.cif`` (every data block), POSCAR/CONTCAR/``.vasp`` file, or ``.xyz``/``.extxyz`` file
  (every frame; targets from ``atoms.info``).

A bad entry (unreadable CIF, a disordered structure, a missing or non-numeric target) raises a
:class:`~nnsurrogate.core.errors.UserInputError` naming the file and the entry, or, with
``skip_bad=True``, is left out and listed in :attr:`CrystalDataset.skipped`.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import os
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.tables import read_table, require_columns
from nnsurrogate.crystal.structures import Crystal, from_ase, from_pymatgen, structure_from_dict, to_crystal

ID_COLUMNS = ("material_id", "id", "name")
STRUCTURE_SUFFIXES = (".cif", ".vasp", ".poscar", ".xyz", ".extxyz")


@dataclass
class CrystalDataset:
    """Structures with their targets (if requested) and the entries that were skipped.

    Attributes
    ----------
    crystals : list of Crystal
    targets : numpy.ndarray, shape (n,), or None
        Target values in the data's units; ``None`` when no target was asked for.
    target : str or None
        Target name.
    source : str
        Where the data came from (for messages).
    skipped : list of (str, str)
        ``(entry id, reason)`` of every entry left out with ``skip_bad``.
    """

    crystals: list[Crystal]
    targets: np.ndarray | None
    target: str | None
    source: str
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.crystals]

    def subset(self, rows: Iterable[int]) -> "CrystalDataset":
        """The entries at *rows* (the skipped list is kept)."""
        rows = list(rows)
        targets = None if self.targets is None else self.targets[rows]
        return CrystalDataset([self.crystals[i] for i in rows], targets, self.target, self.source, list(self.skipped))


class _Collector:
    """Accumulates entries; turns a failing entry into an error naming it, or a skip."""

    def __init__(self, source: str, target: str | None, skip_bad: bool) -> None:
        self.source, self.target, self.skip_bad = source, target, skip_bad
        self.crystals: list[Crystal] = []
        self.values: list[float] = []
        self.skipped: list[tuple[str, str]] = []

    def add(self, entry_id: str, make: Callable[[], Crystal], value: Any = None) -> None:
        try:
            crystal = make()
            number = self._target_value(value) if self.target is not None else math.nan
        except UserInputError as exc:
            if not self.skip_bad:
                raise UserInputError(exc.what, f"{self.source}, entry {entry_id}") from None
            self.skipped.append((str(entry_id), exc.what))
            return
        self.crystals.append(crystal)
        self.values.append(number)

    def fail(self, entry_id: str, exc: UserInputError) -> None:
        """Record an entry that could not be read at all (raise, or skip with ``skip_bad``)."""
        self.add(entry_id, lambda: _raise(exc))

    def _target_value(self, value: Any) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise UserInputError(f"target '{self.target}' is not a number: {value!r}") from None
        if not math.isfinite(number):
            raise UserInputError(f"target '{self.target}' is missing or not finite")
        return number

    def dataset(self) -> CrystalDataset:
        if not self.crystals:
            why = f"; skipped {len(self.skipped)} bad entries, first: {self.skipped[0][1]}" if self.skipped else ""
            raise UserInputError(f"no usable structures{why}", self.source)
        targets = np.asarray(self.values, dtype=np.float64) if self.target is not None else None
        return CrystalDataset(self.crystals, targets, self.target, self.source, self.skipped)


def read_crystals(path: str | os.PathLike, target: str | None = None, skip_bad: bool = False) -> CrystalDataset:
    """Read every structure (and the *target* values, when given) from *path*.

    Parameters
    ----------
    path : path-like
        A table with a ``cif`` column, a pymatgen JSON (``.json``/``.json.gz``), a CGCNN folder, or a
        ``.cif``, POSCAR or extxyz file (see the module docstring).
    target : str, optional
        Name of the target column (table, JSON, extxyz ``info`` key); for a CGCNN folder the second
        column of ``id_prop.csv`` is the target whatever its name.
    skip_bad : bool
        Leave out bad entries (listed in ``skipped``) instead of stopping at the first.

    Returns
    -------
    CrystalDataset
    """
    path = Path(path)
    if not path.exists():
        raise UserInputError("file or folder not found", str(path))
    collector = _Collector(str(path), target, skip_bad)
    name = path.name.lower()
    if path.is_dir():
        _read_folder(path, collector)
    elif name.endswith((".csv", ".parquet", ".pq")):
        _read_table(path, collector)
    elif name.endswith((".json", ".json.gz")):
        _read_json(path, collector)
    elif name.endswith(".cif"):
        _read_cif_file(path, collector, path.stem)
    elif name.endswith((".xyz", ".extxyz")):
        _read_extxyz(path, collector)
    elif _is_poscar(path):
        _read_poscar(path, collector, path.stem, None)
    else:
        raise UserInputError("unsupported crystal data: give a .csv/.parquet with a 'cif' column, a .json(.gz) of "
                             "pymatgen structures, a CGCNN folder, or a .cif, POSCAR or .extxyz file", str(path))
    return collector.dataset()


def dataset_from_structures(structures: Iterable[Any], targets: Iterable[float] | None = None,
                            ids: Iterable[str] | None = None, target: str = "target") -> CrystalDataset:
    """A :class:`CrystalDataset` from pymatgen ``Structure``/``ase.Atoms``/:class:`Crystal` objects."""
    structures = list(structures)
    names = [str(i) for i in ids] if ids is not None else [str(i) for i in range(len(structures))]
    values = list(targets) if targets is not None else [None] * len(structures)
    collector = _Collector("structures", target if targets is not None else None, False)
    for entry_id, obj, value in zip(names, structures, values):
        collector.add(entry_id, lambda obj=obj, entry_id=entry_id: to_crystal(obj, entry_id), value)
    return collector.dataset()


def parse_cif_text(text: str, entry_id: str) -> Crystal:
    """The first structure of CIF *text*; unreadable text is a :class:`UserInputError`."""
    structures = _cif_structures(text, entry_id)
    return from_pymatgen(structures[0], entry_id)


def _cif_structures(text: str, entry_id: str) -> list:
    from pymatgen.io.cif import CifParser

    if not isinstance(text, str) or not text.strip():
        raise UserInputError("empty CIF", entry_id)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            structures = CifParser.from_str(text).parse_structures(primitive=False)
    except Exception as exc:  # noqa: BLE001 - pymatgen raises ValueError, KeyError, IndexError ... on bad CIF
        raise UserInputError(f"unreadable CIF: {_first_line(exc)}", entry_id) from None
    if not structures:
        raise UserInputError("unreadable CIF: no structure in it", entry_id)
    return structures


def _row_ids(frame: pd.DataFrame) -> list[str]:
    lower = {str(c).lower(): c for c in frame.columns}
    for name in ID_COLUMNS:
        if name in lower:
            return [str(v) for v in frame[lower[name]]]
    return [f"row {i + 1}" for i in range(len(frame))]


def table_columns(path: str | os.PathLike) -> tuple[list[str], pd.DataFrame] | None:
    """For a table of structures: the entry ids and every column but the structures (``cif``), one row
    per entry in file order; ``None`` for other kinds of crystal data."""
    path = Path(path)
    if path.is_dir() or not path.name.lower().endswith((".csv", ".parquet", ".pq")):
        return None
    frame = read_table(path)
    keep = [c for c in frame.columns if str(c).lower() != "cif"]
    return _row_ids(frame), frame[keep].reset_index(drop=True)


def _read_table(path: Path, collector: _Collector) -> None:
    frame = read_table(path)
    lower = {str(c).lower(): c for c in frame.columns}
    if "cif" not in lower:
        raise UserInputError("table has no 'cif' column with the structures", str(path))
    if collector.target is not None:
        require_columns(frame, [collector.target], str(path))
    cifs = frame[lower["cif"]].tolist()
    values = frame[collector.target].tolist() if collector.target is not None else [None] * len(frame)
    for entry_id, text, value in zip(_row_ids(frame), cifs, values):
        collector.add(entry_id, lambda text=text, entry_id=entry_id: parse_cif_text(text, entry_id), value)


def _load_json(path: Path) -> Any:
    try:
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserInputError(f"cannot read JSON: {_first_line(exc)}", str(path)) from None


def _is_structure_dict(obj: Any) -> bool:
    return isinstance(obj, dict) and "lattice" in obj and "sites" in obj


def _read_json(path: Path, collector: _Collector) -> None:
    data = _load_json(path)
    if isinstance(data, dict) and "columns" in data and "data" in data:
        frame = pd.DataFrame(data["data"], columns=data["columns"])
    elif isinstance(data, list) and data and all(isinstance(r, dict) and "structure" in r for r in data):
        frame = pd.DataFrame(data)
    elif _is_structure_dict(data) or (isinstance(data, list) and data and all(_is_structure_dict(r) for r in data)):
        frame = pd.DataFrame({"structure": data if isinstance(data, list) else [data]})
    else:
        raise UserInputError("JSON holds no pymatgen structures (expected a 'structure' column or "
                             "a list of Structure.as_dict() objects)", str(path))
    if "structure" not in frame.columns:
        raise UserInputError("JSON table has no 'structure' column", str(path))
    if collector.target is not None:
        require_columns(frame, [collector.target], str(path))
    values = frame[collector.target].tolist() if collector.target is not None else [None] * len(frame)
    for entry_id, obj, value in zip(_row_ids(frame), frame["structure"].tolist(), values):
        collector.add(entry_id, lambda obj=obj, entry_id=entry_id: _json_structure(obj, entry_id), value)


def _json_structure(obj: Any, entry_id: str) -> Crystal:
    if not isinstance(obj, dict):
        raise UserInputError(f"structure entry is a {type(obj).__name__}, not a pymatgen dictionary", entry_id)
    return from_pymatgen(structure_from_dict(obj, entry_id), entry_id)


def _read_folder(path: Path, collector: _Collector) -> None:
    id_prop = path / "id_prop.csv"
    if id_prop.is_file():
        try:
            frame = pd.read_csv(id_prop, header=None, dtype={0: str})
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise UserInputError(f"cannot read id_prop.csv: {_first_line(exc)}", str(id_prop)) from None
        if collector.target is not None and frame.shape[1] < 2:
            raise UserInputError("id_prop.csv needs two columns: id, target", str(id_prop))
        for i, row in enumerate(frame.itertuples(index=False)):
            entry_id = str(row[0]).strip()
            value = row[1] if frame.shape[1] > 1 else None
            collector.add(entry_id, lambda entry_id=entry_id: _folder_cif(path, entry_id), value)
        return
    files = sorted(p for p in path.iterdir() if p.is_file() and (p.name.lower().endswith(STRUCTURE_SUFFIXES) or _is_poscar(p)))
    if not files:
        raise UserInputError("folder has neither id_prop.csv nor structure files (.cif, POSCAR, .extxyz)", str(path))
    if collector.target is not None:
        raise UserInputError(f"a folder needs id_prop.csv to give the target '{collector.target}'", str(path))
    for file in files:
        if file.name.lower().endswith(".cif"):
            _read_cif_file(file, collector, file.stem)
        elif file.name.lower().endswith((".xyz", ".extxyz")):
            _read_extxyz(file, collector)
        else:
            _read_poscar(file, collector, file.name, None)


def _folder_cif(folder: Path, entry_id: str) -> Crystal:
    file = folder / f"{entry_id}.cif"
    if not file.is_file():
        raise UserInputError(f"no file {file.name} for this id_prop.csv entry")
    return parse_cif_text(file.read_text(encoding="utf-8", errors="replace"), entry_id)


def _read_cif_file(path: Path, collector: _Collector, stem: str) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        structures = _cif_structures(text, stem)
    except UserInputError as exc:
        collector.fail(stem, exc)
        return
    for k, structure in enumerate(structures):
        entry_id = stem if len(structures) == 1 else f"{stem}:{k}"
        collector.add(entry_id, lambda s=structure, entry_id=entry_id: from_pymatgen(s, entry_id))


def _is_poscar(path: Path) -> bool:
    name = path.name.upper()
    return name.startswith(("POSCAR", "CONTCAR")) or name.endswith((".VASP", ".POSCAR"))


def _read_poscar(path: Path, collector: _Collector, entry_id: str, value: Any) -> None:
    def make() -> Crystal:
        import ase.io

        text = path.read_text(encoding="utf-8", errors="replace")
        _check_species_line(text)
        try:
            atoms = ase.io.read(io.StringIO(text), format="vasp")
        except Exception as exc:  # noqa: BLE001 - ASE raises many kinds on malformed files
            raise UserInputError(f"unreadable POSCAR: {_first_line(exc)}") from None
        return from_ase(atoms, entry_id)

    collector.add(entry_id, make, value)


def _check_species_line(text: str) -> None:
    """A VASP 4 POSCAR (counts on line 6, no element line) needs the elements as the first words of
    its comment line; say so instead of letting ASE look for a POTCAR."""
    from ase.data import chemical_symbols

    lines = text.splitlines()
    if len(lines) < 7 or not lines[5].split() or not all(w.isdigit() for w in lines[5].split()):
        return
    words = lines[0].split()[:len(lines[5].split())]
    if len(words) < len(lines[5].split()) or not all(w in chemical_symbols[1:] for w in words):
        raise UserInputError("VASP 4 POSCAR without element symbols: add them as line 6 (VASP 5) or as the first "
                             "words of the comment line")


def _read_extxyz(path: Path, collector: _Collector) -> None:
    import ase.io

    try:
        frames = ase.io.read(path, index=":", format="extxyz")
    except Exception as exc:  # noqa: BLE001
        raise UserInputError(f"unreadable extended XYZ: {_first_line(exc)}", str(path)) from None
    for k, atoms in enumerate(frames):
        entry_id = str(atoms.info.get("material_id", atoms.info.get("id", f"{path.stem}:{k}")))
        value = atoms.info.get(collector.target) if collector.target is not None else None
        collector.add(entry_id, lambda atoms=atoms, entry_id=entry_id: from_ase(atoms, entry_id), value)


def _raise(exc: Exception) -> Crystal:
    raise exc


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
