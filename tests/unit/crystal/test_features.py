"""Per-atom features against values worked out by hand, and their invariances."""

from __future__ import annotations

import numpy as np
import pytest

from nnsurrogate.core.elements import element_table
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.crystal.features import atom_features, feature_groups, feature_names, node_features
from nnsurrogate.crystal.graph import build_graph
from nnsurrogate.crystal.structures import from_arrays

from .conftest import perovskite, rocksalt, simple_cubic


def _features(crystal):
    return atom_features(build_graph(crystal), crystal.cell, crystal.id)


def _column(values, name):
    return values[:, feature_names().index(name)]


def test_names_are_unique_identifiers_in_three_groups():
    names = feature_names()
    assert len(names) == 178 and len(set(names)) == 178
    assert all(name.isidentifier() for name in names)
    groups = feature_groups()
    assert {g: groups.count(g) for g in set(groups)} == {"element": 66, "environment": 58, "cell": 54}


def test_simple_cubic_environment_by_hand():
    a = 2.5
    values = _features(simple_cubic(a, z=29))  # a hypothetical simple-cubic copper
    assert values.shape == (1, 178)
    np.testing.assert_allclose(_column(values, "env_d_min"), a)
    # 6 neighbours at a and 12 at a√2 (the 12 nearest are the 6 plus all 12 tied in the second shell)
    np.testing.assert_allclose(_column(values, "env_d_max"), a * np.sqrt(2))
    np.testing.assert_allclose(_column(values, "env_d_mean"), (6 * a + 12 * a * np.sqrt(2)) / 18)
    np.testing.assert_allclose(_column(values, "env_cn_110"), 6)
    np.testing.assert_allclose(_column(values, "env_cn_150"), 18)
    # Hoppe: l_av = Σ d w / Σ w with w = exp(1 − (d / l_av)⁶), two iterations from d_min; then ECoN = Σ w
    d = np.array([a] * 6 + [a * np.sqrt(2)] * 12)
    l_av = a
    for _ in range(2):
        w = np.exp(1 - (d / l_av) ** 6)
        l_av = (w * d).sum() / w.sum()
    econ = np.exp(1 - (d / l_av) ** 6).sum()
    assert 6.0 < econ < 6.05  # the second shell barely counts
    np.testing.assert_allclose(_column(values, "env_econ"), econ, rtol=1e-10)
    np.testing.assert_allclose(_column(values, "env_l_av"), l_av, rtol=1e-10)
    np.testing.assert_allclose(_column(values, "env_same_species"), 1.0)
    np.testing.assert_allclose(_column(values, "cell_vpa"), a**3)
    mass = element_table("magpie").loc["Cu", "AtomicWeight"]
    np.testing.assert_allclose(_column(values, "cell_density"), mass * 1.66053906660 / a**3, rtol=1e-9)
    np.testing.assert_allclose(_column(values, "cell_own_fraction"), 1.0)
    np.testing.assert_allclose(_column(values, "cell_len_ratio_max"), 1.0)


def test_rocksalt_neighbour_properties_are_the_other_ion():
    values = _features(rocksalt(5.64))
    en = element_table("magpie")["Electronegativity"]
    na, cl = values[:4], values[4:]
    # first shell of Na is 6 Cl; the 12 Na of the second shell (a/√2) weigh ≈ 9e-4 each
    np.testing.assert_allclose(_column(na, "nb_mean_Electronegativity"), en["Cl"], atol=0.01)
    np.testing.assert_allclose(_column(cl, "nb_mean_Electronegativity"), en["Na"], atol=0.01)
    np.testing.assert_allclose(_column(na, "nb_absdiff_Electronegativity"), en["Cl"] - en["Na"], atol=0.01)
    np.testing.assert_allclose(_column(values, "env_n_species"), 1.0)
    np.testing.assert_allclose(_column(values, "comp_mean_Electronegativity"), (en["Na"] + en["Cl"]) / 2)
    np.testing.assert_allclose(_column(values, "comp_dev_Electronegativity"), (en["Cl"] - en["Na"]) / 2)
    np.testing.assert_allclose(_column(values, "cell_own_fraction"), 0.5)


def test_perovskite_sites_differ_in_coordination():
    values = _features(perovskite(3.9))
    econ = _column(values, "env_econ")
    assert econ[1] == pytest.approx(6, abs=0.05)   # Ti: octahedron
    assert econ[0] == pytest.approx(12, abs=0.05)  # Sr: cuboctahedron
    np.testing.assert_allclose(_column(values, "env_d_min")[[0, 1]], [3.9 / np.sqrt(2), 3.9 / 2])


def test_features_follow_a_permutation_of_the_atoms():
    crystal = perovskite(3.9)
    order = np.array([2, 4, 0, 1, 3])
    np.testing.assert_allclose(_features(crystal.permuted(order)), _features(crystal)[order], atol=1e-12)


def test_features_are_finite_for_real_data(perov_csv_rows):
    from nnsurrogate.crystal.io import parse_cif_text

    for cif in perov_csv_rows["cif"].head(10):
        assert np.all(np.isfinite(_features(parse_cif_text(cif, "row"))))


def test_unknown_element_is_named():
    crystal = from_arrays("pu-metal", [94], [[0, 0, 0]], np.eye(3) * 3.1)  # Pu: Magpie only, no Oliynyk
    with pytest.raises(UserInputError, match=r"unknown element 'Pu'.*\(pu-metal\)"):
        _features(crystal)
    with pytest.raises(UserInputError, match="'Pu'"):
        node_features(crystal.numbers, "pu-metal")


def test_node_features_are_standardised_over_the_table():
    table = element_table("magpie")
    z = np.array([8, 14, 26])
    expected = (table.loc[["O", "Si", "Fe"]].to_numpy() - table.mean().to_numpy()) / table.std().to_numpy()
    np.testing.assert_allclose(node_features(z), expected)
