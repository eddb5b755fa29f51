"""CompositionFeaturizer: formula parsing and Magpie statistics against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nnsurrogate.core.elements import element_table
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.tabular.composition import (CompositionFeaturizer, parse_amounts, parse_formula,
                                             reduced_formula, stoichiometry_norms)


@pytest.fixture(scope="module")
def featurizer():
    return CompositionFeaturizer().fit(["SiO2"])


def _features(featurizer, formula) -> dict[str, float]:
    row = featurizer.transform([formula])[0]
    return dict(zip(featurizer.get_feature_names_out(), row))


# ------------------------------------------------------------------- parsing
@pytest.mark.parametrize(("text", "expected"), [
    ("SiO2", {"Si": 1, "O": 2}),
    ("Ca(OH)2", {"Ca": 1, "O": 2, "H": 2}),
    ("Ag(W3Br7)2", {"Ag": 1, "W": 6, "Br": 14}),
    ("CuSO4·5H2O", {"Cu": 1, "S": 1, "O": 9, "H": 10}),
    ("CuSO4•5H2O", {"Cu": 1, "S": 1, "O": 9, "H": 10}),
    ("CuSO4*5H2O", {"Cu": 1, "S": 1, "O": 9, "H": 10}),
    ("CuSO4.5H2O", {"Cu": 1, "S": 1, "O": 9, "H": 10}),  # a hydrate dot, not O4.5
    ("Na2CO3.10H2O", {"Na": 2, "C": 1, "O": 13, "H": 20}),
    ("Fe0.62C0.00095Mn0.0005", {"Fe": 0.62, "C": 0.00095, "Mn": 0.0005}),
    ("Fe2.5O3", {"Fe": 2.5, "O": 3}),  # a decimal amount stays one
])
def test_parse_amounts(text, expected):
    amounts = parse_amounts(text)
    assert amounts.keys() == expected.keys()
    for element, amount in expected.items():
        assert amounts[element] == pytest.approx(amount, rel=1e-12)


def test_fractions_sum_to_one_and_keep_tiny_amounts():
    f = parse_formula("Fe0.62C0.00095Mn0.0005")
    total = 0.62 + 0.00095 + 0.0005
    assert sum(f.values()) == pytest.approx(1.0, abs=1e-15)
    assert f["C"] == pytest.approx(0.00095 / total, rel=1e-12)


@pytest.mark.parametrize(("a", "b"), [("Fe2O3", "Fe4O6"), ("Fe2O3", "O3Fe2"), ("CuSO4·5H2O", "CuH10SO9"),
                                      ("Fe0.5Ni0.5", "FeNi")])
def test_reduced_formula_groups_the_same_compound(a, b):
    assert reduced_formula(a) == reduced_formula(b)


def test_reduced_formula_separates_different_compounds():
    assert reduced_formula("FeO") != reduced_formula("Fe2O3")
    assert reduced_formula("Fe0.62C0.001") != reduced_formula("Fe0.62C0.002")


@pytest.mark.parametrize(("text", "message"), [("H2O)", "cannot parse"), ("", "empty formula"),
                                               (None, "empty formula"), ("Fe-2O", "cannot parse")])
def test_bad_formulas_name_the_row(featurizer, text, message):
    with pytest.raises(UserInputError, match=message) as info:
        featurizer.transform(["SiO2", "NaCl", text], source="data.csv")
    assert info.value.where == "data.csv, row 3"


def test_unknown_element_names_it_and_the_row(featurizer):
    with pytest.raises(UserInputError, match="'Xx'") as info:
        featurizer.transform(["Xx2O"], source="data.csv, column 'formula'")
    assert info.value.where == "data.csv, column 'formula', row 1"


# --------------------------------------------------------------- statistics
def test_magpie_statistics_of_sio2_by_hand(featurizer):
    # Si (Z = 14) at 1/3, O (Z = 8) at 2/3
    f = _features(featurizer, "SiO2")
    assert f["magpie_Number_mean"] == pytest.approx(14 / 3 + 2 * 8 / 3)  # 10
    assert f["magpie_Number_avg_dev"] == pytest.approx((14 - 10) / 3 + 2 * (10 - 8) / 3)  # 8/3
    assert (f["magpie_Number_min"], f["magpie_Number_max"], f["magpie_Number_range"]) == (8, 14, 6)
    assert f["magpie_Number_mode"] == 8  # O has the larger fraction
    # Pauling electronegativity: Si 1.90, O 3.44
    assert f["magpie_Electronegativity_mean"] == pytest.approx(1.90 / 3 + 2 * 3.44 / 3)
    assert f["frac_Si"] == pytest.approx(1 / 3) and f["frac_O"] == pytest.approx(2 / 3) and f["frac_Fe"] == 0
    assert f["norm_0"] == 2 and f["norm_2"] == pytest.approx(math.sqrt(5) / 3)
    assert f["norm_3"] == pytest.approx((1 / 27 + 8 / 27) ** (1 / 3))


def test_parenthesised_formula_and_mode_tie_by_hand(featurizer):
    # Ca(OH)2: Ca 0.2 (Z 20), O 0.4 (Z 8), H 0.4 (Z 1); O and H tie for the largest fraction
    f = _features(featurizer, "Ca(OH)2")
    assert f["magpie_Number_mean"] == pytest.approx(0.2 * 20 + 0.4 * 8 + 0.4 * 1)  # 7.6
    assert f["magpie_Number_avg_dev"] == pytest.approx(0.2 * 12.4 + 0.4 * 0.4 + 0.4 * 6.6)
    assert f["magpie_Number_mode"] == 1  # ties go to the smaller value
    assert f["norm_0"] == 3


def test_fractional_steel_by_hand(featurizer):
    # Fe0.7Cr0.18Ni0.12 (Z 26, 24, 28) sums to 1 already
    f = _features(featurizer, "Fe0.7Cr0.18Ni0.12")
    mean = 0.7 * 26 + 0.18 * 24 + 0.12 * 28  # 25.88
    assert f["magpie_Number_mean"] == pytest.approx(mean)
    assert f["magpie_Number_avg_dev"] == pytest.approx(0.7 * 0.12 + 0.18 * 1.88 + 0.12 * 2.12)
    assert f["magpie_Number_mode"] == 26 and f["magpie_Number_range"] == 4
    # a real Matbench steel: traces of C (Z 6) still count as present for min and range
    g = _features(featurizer, "Fe0.620C0.000953Mn0.000521Si0.00102Cr0.000110Ni0.192Mo0.0176V0.000112"
                              "Nb0.0000616Co0.146Al0.00318Ti0.0185")
    assert g["magpie_Number_min"] == 6 and g["magpie_Number_max"] == 42 and g["norm_0"] == 12
    total = 0.620 + 0.000953 + 0.000521 + 0.00102 + 0.000110 + 0.192 + 0.0176 + 0.000112 + 0.0000616 + 0.146 + 0.00318 + 0.0185
    assert g["frac_C"] == pytest.approx(0.000953 / total, rel=1e-12)


def test_hydrate_features_equal_the_written_out_formula(featurizer):
    np.testing.assert_allclose(featurizer.transform(["CuSO4·5H2O", "CuSO4.5H2O"]),
                               featurizer.transform(["CuH10SO9", "CuH10SO9"]), rtol=1e-12)


def test_valence_fractions_and_ionic_character_of_nacl(featurizer):
    f = _features(featurizer, "NaCl")
    # Na 3s¹, Cl 3s² 3p⁵: 8 valence electrons per formula unit, 3 of them s
    assert f["valence_frac_s"] == pytest.approx(3 / 8) and f["valence_frac_p"] == pytest.approx(5 / 8)
    assert f["valence_frac_d"] == 0 and f["valence_frac_f"] == 0
    ionic = 1 - math.exp(-((3.16 - 0.93) ** 2) / 4)  # Pauling χ: Cl 3.16, Na 0.93
    assert f["ionic_char_max"] == pytest.approx(ionic)
    assert f["ionic_char_mean"] == pytest.approx(2 * 0.5 * 0.5 * ionic)
    assert _features(featurizer, "Cu")["ionic_char_max"] == 0


def test_element_missing_from_oliynyk_gets_its_medians(featurizer):
    # Pu is in the Magpie table but not in Oliynyk's: its Oliynyk properties are the column medians
    oliynyk = element_table("oliynyk")
    f = _features(featurizer, "Pu")
    for prop in ("Atomic_Weight", "Pauling_Electronegativity", "Cohesive_energy"):
        assert f[f"oliynyk_{prop}_mean"] == pytest.approx(oliynyk[prop].median())
    assert f["magpie_Number_mean"] == 94
    assert np.all(np.isfinite(featurizer.transform(["PuO2", "PaCl5", "AcH2"])))


def test_feature_names_match_the_columns():
    full = CompositionFeaturizer().fit(["SiO2"])
    names = full.get_feature_names_out()
    assert len(names) == len(set(names)) == full.transform(["SiO2"]).shape[1]
    assert len(names) == 22 * 6 + 44 * 6 + 97 + 6 + 6
    small = CompositionFeaturizer(tables=("magpie",), stats=("mean",), fractions=False, norms=(), electronic=False)
    assert list(small.fit(["SiO2"]).get_feature_names_out()) == [f"magpie_{p}_mean" for p in element_table().columns]


def test_stoichiometry_norms_limits():
    F = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    norms = stoichiometry_norms(F, (0, 2, 10))
    np.testing.assert_allclose(norms[0], [1, 1, 1])  # an element: every norm is 1
    np.testing.assert_allclose(norms[1], [2, math.sqrt(0.5), 0.5 ** 0.9])


def test_seen_elements_define_the_chemical_domain():
    featurizer = CompositionFeaturizer().fit(["SiO2", "Fe2O3"])
    assert set(featurizer.seen_elements_) == {"Si", "O", "Fe"}
    F = featurizer.formula_fractions(["FeSiO3", "NaCl", "SiO2"])
    np.testing.assert_array_equal(featurizer.known_elements_only(F), [True, False, True])


def test_inputs_as_list_dataframe_or_column_and_in_a_pipeline():
    formulas = ["SiO2", "Fe2O3", "NaCl", "Ca(OH)2"]
    featurizer = CompositionFeaturizer()
    expected = featurizer.fit_transform(formulas)
    np.testing.assert_array_equal(featurizer.transform(pd.DataFrame({"formula": formulas})), expected)
    np.testing.assert_array_equal(featurizer.transform(np.array(formulas, dtype=object)[:, None]), expected)
    with pytest.raises(ValueError, match="one formula column"):
        featurizer.transform(pd.DataFrame({"a": formulas, "b": formulas}))
    pipe = make_pipeline(clone(featurizer), StandardScaler()).fit(formulas)
    Z = pipe.transform(formulas)
    assert Z.shape == expected.shape and np.all(np.isfinite(Z))


@pytest.mark.parametrize("params", [dict(tables=("oliynyk",)), dict(tables=("magpie", "nope")),
                                    dict(stats=("median",)), dict(norms=(-1,)), dict(norms=(1.5,))])
def test_bad_parameters_raise_in_fit(params):
    with pytest.raises(ValueError):
        CompositionFeaturizer(**params).fit(["SiO2"])
