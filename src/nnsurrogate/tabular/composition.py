"""Chemical formulas → fixed-length feature vectors (Magpie-style composition descriptors).

For a compound with elements *i* at atomic fractions fᵢ (Σ fᵢ = 1) and an element property pᵢ, the
statistics of Ward et al., npj Comput. Mater. 2, 16028 (2016), are

    mean      p̄ = Σ fᵢ pᵢ
    avg_dev   Σ fᵢ |pᵢ − p̄|            (fraction-weighted mean absolute deviation)
    min, max  over the elements present (fᵢ > 0)
    range     max − min
    mode      pᵢ of the element with the largest fᵢ (ties: the smallest such pᵢ)

computed for every property of the Magpie table and, by default, of the Oliynyk table
(:mod:`nnsurrogate.core.elements`). To these the featurizer appends

- the element-fraction vector fᵢ over the 97 elements of the Magpie table;
- stoichiometry norms ‖f‖ₚ = (Σ fᵢᵖ)^(1/p) for p = 2, 3, 5, 7, 10 and the number of elements (p = 0);
- valence-orbital fractions F_l = Σ fᵢ N_l,ᵢ / Σ fᵢ N_v,ᵢ for l = s, p, d, f (Ward 2016, Eq. 6);
- ionic character I(χᵢ, χⱼ) = 1 − exp(−(χᵢ − χⱼ)²/4) (Pauling), its maximum over element pairs and
  its fraction-weighted mean Σᵢⱼ fᵢ fⱼ I (Ward 2016, Eqs. 7–8).

Imputation: a property missing for an element inside a table is that table's column median
(:mod:`nnsurrogate.core.elements`). An element that the Magpie table covers but a secondary table
(Oliynyk: no Ac, Am, At, Bk, Cm, Fr, Np, Pa, Po, Pu, Ra, Rn) does not is given that table's column
medians too. An element unknown to the Magpie table, or an unparsable formula, is an error naming
the row.

Formulas are parsed by :class:`pymatgen.core.Composition`: parentheses (``Ca(OH)2``), fractional
amounts (``Fe0.62C0.00095Mn0.0005``) and hydrates (``CuSO4·5H2O``, also with ``•``, ``*`` or
``CuSO4.5H2O``: a ``.`` followed by a whole number and ``H2O`` is read as a hydrate dot, not as
the decimal point of O4.5).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from nnsurrogate.core.elements import element_table
from nnsurrogate.core.errors import UserInputError

STATS = ("mean", "avg_dev", "min", "max", "range", "mode")
NORMS = (0, 2, 3, 5, 7, 10)
PRIMARY_TABLE = "magpie"
ORBITALS = ("s", "p", "d", "f")
_HYDRATE_SEPARATORS = re.compile(r"[·•∙⋅*]")
_ASCII_HYDRATE = re.compile(r"(?<=[A-Za-z)\]\d])\.(?=\d+(?:H2O|D2O)$)")
_LEADING_COUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?=[A-Z(\[])")
_CHUNK = 256  # formulas per block in the vectorised statistics (bounds memory at ~chunk × elements × props)


def parse_formula(text: object, where: str = "") -> dict[str, float]:
    """Atomic fractions of a formula, ``{"Si": 1/3, "O": 2/3}``.

    Parameters
    ----------
    text : str
        A formula such as ``"Fe2O3"``, ``"Ca(OH)2"``, ``"CuSO4·5H2O"`` or ``"Fe0.62C0.00095"``.
    where : str
        Location for error messages (file, row).

    Returns
    -------
    dict of str to float
        Fractions summing to 1, keyed by element symbol.
    """
    amounts = parse_amounts(text, where)
    total = sum(amounts.values())
    return {el: amt / total for el, amt in amounts.items()}


def parse_amounts(text: object, where: str = "") -> dict[str, float]:
    """Element amounts of a formula as written, ``"CuSO4·5H2O"`` → ``{Cu: 1, S: 1, O: 9, H: 10}``."""
    from pymatgen.core import Composition

    raw = "" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text).strip()
    if not raw:
        raise UserInputError("empty formula", where)
    parts = _HYDRATE_SEPARATORS.split(_ASCII_HYDRATE.sub("·", raw))
    amounts: dict[str, float] = {}
    try:
        for part in parts:
            count, body = _split_count(part)
            if not body:
                raise ValueError("empty part")
            for element, amount in Composition(body).get_el_amt_dict().items():
                amounts[element] = amounts.get(element, 0.0) + count * float(amount)
    except Exception as exc:  # pymatgen raises ValueError, KeyError, … for bad formulas
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserInputError(f"cannot parse formula {raw!r}: {reason}", where) from None
    amounts = {el: amt for el, amt in amounts.items() if amt != 0}
    total = sum(amounts.values())
    if not amounts or not np.isfinite(total) or min(amounts.values()) < 0:
        raise UserInputError(f"formula {raw!r} has no positive amounts", where)
    return amounts


def _split_count(part: str) -> tuple[float, str]:
    """``"5H2O"`` → (5.0, ``"H2O"``); a part without a leading number has count 1."""
    match = _LEADING_COUNT.match(part)
    if match is None:
        return 1.0, part.strip()
    return float(match.group(1)), part[match.end():].strip()


def reduced_formula(text: object, where: str = "") -> str:
    """Canonical name of a compound, the same for ``Fe2O3``, ``Fe4O6``, ``O3Fe2`` and ``Fe0.4O0.6`` (to group rows).

    Amounts in whole-number ratio (up to a common factor of 1/20) give pymatgen's reduced formula
    (``Fe2.5O3`` → ``Fe5O6``); others give the atomic fractions rounded to 6 significant digits
    (``Ag0.05Gd0.048Pd0.902`` → ``Ag0.05 Gd0.048 Pd0.902``).
    """
    from pymatgen.core import Composition

    amounts = parse_amounts(text, where)
    smallest = min(amounts.values())
    for factor in range(1, 21):
        scaled = {el: a / smallest * factor for el, a in amounts.items()}
        if all(abs(v - round(v)) < 1e-6 * max(v, 1.0) for v in scaled.values()):
            with warnings.catch_warnings():  # noble gases: pymatgen warns while ordering by electronegativity
                warnings.filterwarnings("ignore", message="No Pauling electronegativity")
                return Composition({el: round(v) for el, v in scaled.items()}).reduced_formula
    total = sum(amounts.values())
    return " ".join(f"{el}{float(f'{amt / total:.6g}'):g}" for el, amt in sorted(amounts.items()))


def formula_values(X) -> np.ndarray:
    """Formula strings from a 1-D array-like, a one-column DataFrame or an (n, 1) array; shape (n,)."""
    if isinstance(X, pd.DataFrame):
        if X.shape[1] != 1:
            raise ValueError(f"expected one formula column, got {X.shape[1]} columns")
        return X.iloc[:, 0].to_numpy(dtype=object)
    arr = np.asarray(X, dtype=object)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"expected a 1-D sequence of formulas or one column, got shape {arr.shape}")
    return arr


def fraction_matrix(formulas: Sequence, elements: Sequence[str], source: str = "") -> np.ndarray:
    """Atomic fractions of each formula over *elements*, shape (n, len(elements)).

    Each distinct formula is parsed once. An element outside *elements* is a
    :class:`UserInputError` naming the row (counted from 1) and *source*.
    """
    index = {el: j for j, el in enumerate(elements)}
    values = list(formulas)
    out = np.zeros((len(values), len(elements)))
    cache: dict[str, np.ndarray] = {}
    for i, text in enumerate(values):
        key = str(text)
        row = cache.get(key)
        if row is None:
            where = f"{source}, row {i + 1}" if source else f"row {i + 1}"
            row = np.zeros(len(elements))
            for element, fraction in parse_formula(text, where).items():
                if element not in index:
                    raise UserInputError(f"formula {key!r} contains {element!r}, which the {PRIMARY_TABLE} "
                                         "element table does not cover", where)
                row[index[element]] = fraction
            cache[key] = row
        out[i] = row
    return out


def composition_stats(F: np.ndarray, P: np.ndarray, stats: Sequence[str] = STATS) -> np.ndarray:
    """Ward (2016) statistics of element properties weighted by atomic fraction.

    Parameters
    ----------
    F : numpy.ndarray, shape (n, n_elements)
        Atomic fractions, rows summing to 1.
    P : numpy.ndarray, shape (n_elements, n_props)
        Element properties (no NaN).
    stats : sequence of str
        Any of ``mean, avg_dev, min, max, range, mode``.

    Returns
    -------
    numpy.ndarray, shape (n, n_props · len(stats))
        Blocks ordered property-major: for each property, its statistics in the order of *stats*.
    """
    unknown = [s for s in stats if s not in STATS]
    if unknown:
        raise ValueError(f"unknown statistic '{unknown[0]}'; choose from {', '.join(STATS)}")
    blocks = [_stats_block(F[s : s + _CHUNK], P, stats) for s in range(0, F.shape[0], _CHUNK)]
    out = np.concatenate(blocks, axis=0) if blocks else np.zeros((0, len(stats), P.shape[1]))
    return out.transpose(0, 2, 1).reshape(F.shape[0], -1)


def _stats_block(F: np.ndarray, P: np.ndarray, stats: Sequence[str]) -> np.ndarray:
    """Statistics for a block of rows, shape (rows, len(stats), n_props)."""
    present = (F > 0)[:, :, None]  # (r, e, 1)
    mean = F @ P  # (r, k)
    values = {"mean": mean}
    if "avg_dev" in stats:
        values["avg_dev"] = np.einsum("re,rek->rk", F, np.abs(P[None, :, :] - mean[:, None, :]))
    lo = np.where(present, P[None], np.inf).min(axis=1)
    hi = np.where(present, P[None], -np.inf).max(axis=1)
    values.update(min=lo, max=hi, range=hi - lo)
    if "mode" in stats:
        top = (F == F.max(axis=1, keepdims=True)) & (F > 0)
        values["mode"] = np.where(top[:, :, None], P[None], np.inf).min(axis=1)
    return np.stack([values[s] for s in stats], axis=1)


def stoichiometry_norms(F: np.ndarray, norms: Sequence[int] = NORMS) -> np.ndarray:
    """‖f‖ₚ = (Σ fᵢᵖ)^(1/p) per row; p = 0 gives the number of elements. Shape (n, len(norms))."""
    cols = []
    for p in norms:
        if p == 0:
            cols.append((F > 0).sum(axis=1).astype(np.float64))
        elif p > 0:
            cols.append(np.sum(F**p, axis=1) ** (1.0 / p))
        else:
            raise ValueError(f"norm orders must be ≥ 0, got {p}")
    return np.column_stack(cols) if cols else np.zeros((F.shape[0], 0))


def electronic_features(F: np.ndarray, magpie: pd.DataFrame) -> np.ndarray:
    """Valence-orbital fractions (s, p, d, f) and max / mean ionic character, shape (n, 6).

    Ward et al. (2016), Eqs. 6–8; electronegativities are Pauling values from the Magpie table.
    """
    n_l = magpie[[f"N{o}Valence" for o in ORBITALS]].to_numpy(np.float64)  # (e, 4)
    total = F @ magpie["NValence"].to_numpy(np.float64)
    orbital = (F @ n_l) / np.where(total > 0, total, 1.0)[:, None]
    chi = magpie["Electronegativity"].to_numpy(np.float64)
    ionic = 1.0 - np.exp(-0.25 * (chi[:, None] - chi[None, :]) ** 2)  # (e, e)
    mean_ionic = np.einsum("re,ef,rf->r", F, ionic, F)
    present = F > 0
    max_ionic = np.array([ionic[np.ix_(m, m)].max() if m.sum() > 1 else 0.0 for m in present])
    return np.column_stack([orbital, max_ionic, mean_ionic])


class CompositionFeaturizer(TransformerMixin, BaseEstimator):
    """Magpie-style composition features from chemical formulas (see the module docstring).

    Parameters
    ----------
    tables : tuple of str, default=("magpie", "oliynyk")
        Element tables whose properties enter the statistics; the first must be ``"magpie"``.
    stats : tuple of str, default=("mean", "avg_dev", "min", "max", "range", "mode")
    fractions : bool, default=True
        Append the atomic-fraction vector over the Magpie elements.
    norms : tuple of int, default=(0, 2, 3, 5, 7, 10)
        Stoichiometry norm orders (0 = number of elements); empty for none.
    electronic : bool, default=True
        Append valence-orbital fractions and ionic-character features.

    Attributes
    ----------
    elements_ : list of str
        Elements of the fraction vector (the Magpie table), in order.
    seen_elements_ : list of str
        Elements present in at least one formula passed to ``fit`` (the model's chemical domain).
    feature_names_out_ : numpy.ndarray of str, shape (n_features_out,)
    n_features_in_ : int
        Always 1 (one formula column).

    Examples
    --------
    >>> CompositionFeaturizer().fit_transform(["SiO2", "Fe2O3"]).shape
    (2, 505)
    """

    def __init__(self, tables=("magpie", "oliynyk"), stats=STATS, fractions=True, norms=NORMS, electronic=True):
        self.tables = tables
        self.stats = stats
        self.fractions = fractions
        self.norms = norms
        self.electronic = electronic

    def fit(self, X, y=None):
        """Check the parameters and the formulas; the features themselves need no fitting."""
        self._check_params()
        magpie = element_table(PRIMARY_TABLE)
        self.elements_ = list(magpie.index)
        self._property_tables_ = self._aligned_tables(magpie)
        self.feature_names_out_ = np.asarray(self._names(), dtype=object)
        formulas = formula_values(X)
        self.n_features_in_ = 1
        F = fraction_matrix(formulas, self.elements_)  # fails early on bad formulas
        self.seen_elements_ = [el for el, seen in zip(self.elements_, (F > 0).any(axis=0)) if seen]
        return self

    def formula_fractions(self, X, source: str = "") -> np.ndarray:
        """Atomic-fraction matrix (n, n_elements) over :attr:`elements_`; *source* names the file in errors."""
        check_is_fitted(self, "elements_")
        return fraction_matrix(formula_values(X), self.elements_, source)

    def known_elements_only(self, F: np.ndarray) -> np.ndarray:
        """True (per row of the fraction matrix F, shape (n,)) where every element was seen in ``fit``."""
        check_is_fitted(self, "seen_elements_")
        unseen = ~np.isin(np.asarray(self.elements_), self.seen_elements_)
        return ~(np.asarray(F)[:, unseen] > 0).any(axis=1)

    def transform(self, X, source: str = ""):
        """Features of each formula, shape (n, n_features_out); *source* names the file in errors."""
        return self.transform_fractions(self.formula_fractions(X, source))

    def transform_fractions(self, F: np.ndarray) -> np.ndarray:
        """Features from an atomic-fraction matrix (n, n_elements) over :attr:`elements_`."""
        check_is_fitted(self, "elements_")
        blocks = [composition_stats(F, P.to_numpy(np.float64), tuple(self.stats)) for P in self._property_tables_]
        if self.fractions:
            blocks.append(F)
        if tuple(self.norms):
            blocks.append(stoichiometry_norms(F, tuple(self.norms)))
        if self.electronic:
            blocks.append(electronic_features(F, element_table(PRIMARY_TABLE)))
        return np.concatenate(blocks, axis=1)

    def get_feature_names_out(self, input_features=None):
        """Names such as ``magpie_MeltingT_mean``, ``frac_Fe``, ``norm_2``, ``valence_frac_s``."""
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()

    def _check_params(self) -> None:
        tables = tuple(self.tables)
        if not tables or tables[0] != PRIMARY_TABLE:
            raise ValueError(f"tables must start with '{PRIMARY_TABLE}', got {tables}")
        for name in tables:
            element_table(name)  # raises on an unknown table
        if not tuple(self.stats) and len(tables):
            raise ValueError("stats must name at least one statistic")
        for s in self.stats:
            if s not in STATS:
                raise ValueError(f"unknown statistic '{s}'; choose from {', '.join(STATS)}")
        for p in self.norms:
            if int(p) != p or p < 0:
                raise ValueError(f"norm orders must be non-negative integers, got {p}")

    def _aligned_tables(self, magpie: pd.DataFrame) -> list[pd.DataFrame]:
        """Each table re-indexed to the Magpie elements; elements it lacks get its column medians."""
        aligned = []
        for name in self.tables:
            table = element_table(name)
            aligned.append(table.reindex(magpie.index).fillna(table.median()))
        return aligned

    def _names(self) -> list[str]:
        names = [f"{name}_{prop}_{stat}" for name, table in zip(self.tables, self._property_tables_)
                 for prop in table.columns for stat in self.stats]
        if self.fractions:
            names += [f"frac_{el}" for el in self.elements_]
        names += [f"norm_{p}" for p in self.norms]
        if self.electronic:
            names += [f"valence_frac_{o}" for o in ORBITALS] + ["ionic_char_max", "ionic_char_mean"]
        return names

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags
