"""Reading structures from every supported source; bad entries named, or skipped and listed."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.crystal.io import dataset_from_structures, read_crystals
from nnsurrogate.crystal.prepare import prepare_crystals

from .conftest import DATA, perovskite

BAD_CIF = "data_broken\n_cell_length_a 4\nloop_\n_atom_site_label\nthis is not a structure\n"


def _cif_text(crystal) -> str:
    from pymatgen.core import Lattice, Structure

    return Structure(Lattice(crystal.cell), crystal.numbers.tolist(), crystal.positions,
                     coords_are_cartesian=True).to(fmt="cif")


def test_csv_with_cif_column(tmp_path, perov_csv_rows):
    path = tmp_path / "p.csv"
    perov_csv_rows.head(5).to_csv(path, index=False)
    data = read_crystals(path, "heat_all")
    assert data.ids == [str(i) for i in perov_csv_rows["material_id"].head(5)]
    np.testing.assert_allclose(data.targets, perov_csv_rows["heat_all"].head(5))
    assert all(c.n_atoms == 5 for c in data.crystals)
    volume = perov_csv_rows["cif"].iloc[0].split("_cell_volume")[1].split()[0]
    assert data.crystals[0].volume == pytest.approx(float(volume), rel=1e-6)


def test_bad_cif_is_named_or_skipped(tmp_path, perov_csv_rows):
    frame = perov_csv_rows.head(4).copy()
    frame.loc[2, "cif"] = BAD_CIF
    path = tmp_path / "p.csv"
    frame.to_csv(path, index=False)
    bad_id = str(frame.loc[2, "material_id"])
    with pytest.raises(UserInputError, match=rf"unreadable CIF.*p\.csv, entry {bad_id}\)"):
        read_crystals(path, "heat_all")
    data = read_crystals(path, "heat_all", skip_bad=True)
    assert len(data.crystals) == 3 and [s[0] for s in data.skipped] == [bad_id]


def test_missing_target_value_is_a_bad_entry(tmp_path, perov_csv_rows):
    frame = perov_csv_rows.head(3).copy()
    frame["heat_all"] = frame["heat_all"].astype(object)
    frame.loc[1, "heat_all"] = "oops"
    path = tmp_path / "p.csv"
    frame.to_csv(path, index=False)
    entry = str(frame.loc[1, "material_id"])
    with pytest.raises(UserInputError, match=rf"target 'heat_all' is not a number: 'oops'.*entry {entry}\)"):
        read_crystals(path, "heat_all")
    frame.loc[1, "heat_all"] = ""
    frame.to_csv(path, index=False)
    with pytest.raises(UserInputError, match=rf"target 'heat_all' is missing.*entry {entry}\)"):
        read_crystals(path, "heat_all")


def test_pymatgen_json_split_orient(tmp_path):
    source = DATA / "mp_matminer" / "elastic_tensor_2015.json.gz"
    if not source.is_file():
        pytest.skip(f"shared data not found at {source}")
    with gzip.open(source, "rt", encoding="utf-8") as fh:
        full = json.load(fh)
    small = {"columns": full["columns"], "index": full["index"][:3], "data": full["data"][:3]}
    path = tmp_path / "small.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        json.dump(small, fh)
    data = read_crystals(path, "K_VRH")
    col = full["columns"].index
    assert data.ids == [row[col("material_id")] for row in small["data"]]
    np.testing.assert_allclose(data.targets, [row[col("K_VRH")] for row in small["data"]])
    assert [c.n_atoms for c in data.crystals] == [row[col("nsites")] for row in small["data"]]


def test_cgcnn_folder_poscar_and_extxyz(tmp_path):
    import ase.io
    from ase import Atoms

    crystal = perovskite(3.9)
    folder = tmp_path / "cgcnn"
    folder.mkdir()
    for name in ("a1", "b2"):
        (folder / f"{name}.cif").write_text(_cif_text(crystal), encoding="utf-8")
    (folder / "id_prop.csv").write_text("a1,1.5\nb2,-0.25\n", encoding="utf-8")
    data = read_crystals(folder, "energy")
    assert data.ids == ["a1", "b2"] and data.targets.tolist() == [1.5, -0.25]

    atoms = Atoms(numbers=crystal.numbers, positions=crystal.positions, cell=crystal.cell, pbc=True)
    ase.io.write(tmp_path / "POSCAR", atoms, format="vasp")
    poscar = read_crystals(tmp_path / "POSCAR")
    np.testing.assert_allclose(poscar.crystals[0].positions, crystal.positions, atol=1e-6)
    atoms.info["band_gap"] = 3.2
    ase.io.write(tmp_path / "frames.extxyz", [atoms, atoms], format="extxyz")
    frames = read_crystals(tmp_path / "frames.extxyz", "band_gap")
    assert frames.targets.tolist() == [3.2, 3.2] and len(frames.ids) == 2


def test_missing_structure_file_in_cgcnn_folder(tmp_path):
    (tmp_path / "id_prop.csv").write_text("x9,1.0\n", encoding="utf-8")
    with pytest.raises(UserInputError, match=r"no file x9\.cif.*entry x9"):
        read_crystals(tmp_path, "y")


def test_unsupported_and_missing_sources(tmp_path):
    with pytest.raises(UserInputError, match="not found"):
        read_crystals(tmp_path / "nope.csv")
    (tmp_path / "x.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(UserInputError, match="unsupported crystal data"):
        read_crystals(tmp_path / "x.txt")
    (tmp_path / "t.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(UserInputError, match="no 'cif' column"):
        read_crystals(tmp_path / "t.csv")


def test_disordered_structure_is_refused():
    from pymatgen.core import Lattice, Structure

    alloy = Structure(Lattice.cubic(3.6), [{"Cu": 0.5, "Au": 0.5}], [[0, 0, 0]])
    with pytest.raises(UserInputError, match="disordered"):
        dataset_from_structures([alloy], [1.0])


def test_prepare_skips_unphysical_entries_and_lists_them():
    from nnsurrogate.crystal.structures import from_arrays

    good = perovskite(3.9)
    overlap = from_arrays("overlap", [8, 8], [[0, 0, 0], [0.2, 0, 0]], np.eye(3) * 4)
    isolated = from_arrays("isolated", [2], [[0, 0, 0]], np.eye(3) * 30)
    unknown = from_arrays("unknown", [94], [[0, 0, 0]], np.eye(3) * 3)
    with pytest.raises(UserInputError, match=r"overlapping atoms.*\(data\.csv, entry overlap\)"):
        prepare_crystals([good, overlap], source="data.csv")
    prepared = prepare_crystals([good, overlap, isolated, unknown, good], skip_bad=True)
    assert prepared.kept.tolist() == [0, 4]
    reasons = dict(prepared.skipped)
    assert set(reasons) == {"overlap", "isolated", "unknown"}
    assert "isolated atom" in reasons["isolated"] and "'Pu'" in reasons["unknown"]
    with pytest.raises(UserInputError, match="no usable structures"):
        prepare_crystals([overlap], skip_bad=True)
    assert isinstance(prepared.structure_table(), pd.DataFrame) and prepared.structure_table().shape == (2, 178)


def test_vasp4_poscar_needs_its_elements_in_the_comment_line(tmp_path):
    body = "1.0\n3.6 0 0\n0 3.6 0\n0 0 3.6\n4\nDirect\n0 0 0\n0.5 0.5 0\n0.5 0 0.5\n0 0.5 0.5\n"
    (tmp_path / "POSCAR").write_text("fcc copper\n" + body)
    with pytest.raises(UserInputError, match="VASP 4 POSCAR without element symbols") as info:
        read_crystals(tmp_path / "POSCAR")
    assert "POSCAR" in str(info.value)
    (tmp_path / "POSCAR").write_text("Cu fcc\n" + body)
    assert read_crystals(tmp_path / "POSCAR").crystals[0].numbers.tolist() == [29] * 4
