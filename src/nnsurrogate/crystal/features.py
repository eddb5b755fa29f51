"""Per-atom features: element properties, local-environment statistics and global cell features.

The wide atom description that SA-GAT screens (Liu et al., "SA-GAT-SR", arXiv 2025: a ~180-dimensional
feature space of element, environment and cell descriptors). For an atom *i* with capped neighbours
*j* at distances d_ij (see :mod:`nnsurrogate.crystal.graph`), 178 features in three groups:

``el_*`` (66)
    The atom's own element properties: all 22 Magpie and 44 Oliynyk columns of
    :mod:`nnsurrogate.core.elements` (``el_mp_*``, ``el_ol_*``), in the tables' units.
``env_*`` (14) and ``nb_*`` (44)
    Bond-length statistics (min, mean, max, standard deviation, Å), coordination counts within
    1.10, 1.25 and 1.50 × the shortest bond, Hoppe's effective coordination number
    ECoN = Σ_j w_ij with w_ij = exp(1 − (d_ij / l_av)⁶) and its weighted mean bond length l_av
    (Hoppe, Z. Kristallogr. 150, 23, 1979; two fixed-point iterations from l_av = d_min), the
    shortest bond over the sum of covalent radii, the mean relative bond strain
    Σ w (d − r_i − r_j)/(r_i + r_j) / Σ w, the number of distinct first-shell species, the fraction
    of same-element neighbours, and d_min / (V/N)^(1/3); then for each Magpie property P the
    ECoN-weighted neighbour mean Σ w P_j / Σ w (``nb_mean_*``) and mean absolute difference
    Σ w |P_j − P_i| / Σ w (``nb_absdiff_*``).
``cell_*`` (8), ``comp_*`` (44) and 2 more
    Volume per atom (Å³), density (g/cm³), packing fraction Σ (4π/3) r_cov³ / V, ln N, number of
    species, sorted lattice-length ratios, mean |angle − 90°|, the volume per atom over the
    composition-weighted elemental ground-state volume, the atom's own element fraction, and for each
    Magpie property the composition mean and mean absolute deviation (``comp_mean_*``, ``comp_dev_*``).

Every value is a smooth, permutation-invariant function of the structure. Unknown elements (absent
from either table) raise :class:`~nnsurrogate.core.errors.UserInputError` naming the element.
"""

from __future__ import annotations

import functools
import re

import numpy as np

from nnsurrogate.core.elements import element_table, known_elements
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.crystal.graph import CrystalGraph

_AMU_PER_A3_TO_G_PER_CM3 = 1.66053906660  # 1 u/Å³ = 1.66054 g/cm³
_CN_FACTORS = (1.10, 1.25, 1.50)
ENV_NAMES = ("env_d_min", "env_d_mean", "env_d_max", "env_d_std", "env_cn_110", "env_cn_125", "env_cn_150",
             "env_econ", "env_l_av", "env_dmin_over_rcov", "env_bond_strain", "env_n_species", "env_same_species",
             "env_dmin_over_vpa13")
CELL_NAMES = ("cell_vpa", "cell_density", "cell_packing", "cell_log_natoms", "cell_n_species", "cell_len_ratio_max",
              "cell_len_ratio_mid", "cell_angle_dev", "cell_vpa_over_gsvol", "cell_own_fraction")


def _clean(name: str) -> str:
    """A column name as a Python/sympy identifier: ``'polarizability(A^3)'`` → ``'polarizability_A_3'``."""
    return re.sub(r"_+", "_", re.sub(r"[^0-9A-Za-z]", "_", name)).strip("_")


@functools.lru_cache(maxsize=1)
def _tables() -> tuple[tuple[str, ...], tuple[str, ...], frozenset[str]]:
    magpie = tuple(element_table("magpie").columns)
    oliynyk = tuple(element_table("oliynyk").columns)
    return magpie, oliynyk, known_elements("magpie") & known_elements("oliynyk")


@functools.lru_cache(maxsize=2)
def _by_number(name: str) -> np.ndarray:
    """Table *name* as an array indexed by atomic number, shape (119, n_properties); NaN rows where absent."""
    from ase.data import atomic_numbers

    table = element_table(name)
    out = np.full((119, table.shape[1]), np.nan)
    for symbol, row in zip(table.index, table.to_numpy()):
        if symbol in atomic_numbers:
            out[atomic_numbers[symbol]] = row
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=1)
def feature_names() -> tuple[str, ...]:
    """Names of the per-atom features, in column order (valid identifiers)."""
    magpie, oliynyk, _ = _tables()
    names = [f"el_mp_{_clean(c)}" for c in magpie] + [f"el_ol_{_clean(c)}" for c in oliynyk]
    names += list(ENV_NAMES)
    names += [f"nb_mean_{_clean(c)}" for c in magpie] + [f"nb_absdiff_{_clean(c)}" for c in magpie]
    names += list(CELL_NAMES[:8])
    names += [f"comp_mean_{_clean(c)}" for c in magpie] + [f"comp_dev_{_clean(c)}" for c in magpie]
    names += list(CELL_NAMES[8:])
    return tuple(names)


def feature_groups() -> tuple[str, ...]:
    """The group of each feature: ``element``, ``environment`` or ``cell``."""
    prefix = {"el": "element", "env": "environment", "nb": "environment", "cell": "cell", "comp": "cell"}
    return tuple(prefix[name.split("_", 1)[0]] for name in feature_names())


def check_numbers(numbers: np.ndarray, where: str) -> None:
    """Raise :class:`UserInputError` if an element is missing from the Magpie or Oliynyk table."""
    from ase.data import chemical_symbols

    _, _, known = _tables()
    for z in np.unique(numbers):
        if chemical_symbols[int(z)] not in known:
            raise UserInputError(f"unknown element '{chemical_symbols[int(z)]}': not in the Magpie and Oliynyk "
                                 "element tables", where)


def _segment(values: np.ndarray, center: np.ndarray, n: int) -> np.ndarray:
    """Σ over each center's edges, shape (n,) or (n, k) for values (E,) or (E, k)."""
    if values.ndim == 1:
        return np.bincount(center, weights=values, minlength=n)
    starts = np.searchsorted(center, np.arange(n))  # edges are sorted by center, every atom has one
    return np.add.reduceat(values, starts, axis=0)


def _econ_weights(graph: CrystalGraph, d_min: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hoppe weights w_ij (E,) and weighted mean bond lengths l_av (n,)."""
    c, d, n = graph.center, graph.distance, graph.n_atoms
    l_av = d_min.copy()
    for _ in range(2):
        w = np.exp(1.0 - (d / l_av[c]) ** 6)
        l_av = _segment(w * d, c, n) / _segment(w, c, n)
    return np.exp(1.0 - (d / l_av[c]) ** 6), l_av


def _environment(graph: CrystalGraph, props: np.ndarray, rcov: np.ndarray) -> np.ndarray:
    """The 14 ``env_*`` and 44 ``nb_*`` features, shape (n, 58)."""
    c, j, d, n = graph.center, graph.neighbor, graph.distance, graph.n_atoms
    starts = np.searchsorted(c, np.arange(n))
    count = np.bincount(c, minlength=n).astype(float)
    d_min = d[starts]
    d_mean = _segment(d, c, n) / count
    d_max = np.maximum.reduceat(d, starts)
    d_std = np.sqrt(np.maximum(_segment(d * d, c, n) / count - d_mean**2, 0.0))
    cns = [_segment((d <= f * d_min[c] + 1e-9).astype(float), c, n) for f in _CN_FACTORS]
    w, l_av = _econ_weights(graph, d_min)
    w_sum = _segment(w, c, n)
    radius_sum = rcov[c] + rcov[j]
    first = w > 0.5
    pairs = np.unique(c[first] * 128 + graph.numbers[j[first]])  # distinct (center, neighbour element)
    n_species = np.bincount(pairs // 128, minlength=n).astype(float)
    same = _segment(w * (graph.numbers[j] == graph.numbers[c]), c, n) / w_sum
    env = np.column_stack([
        d_min, d_mean, d_max, d_std, *cns, w_sum, l_av, d_min / radius_sum[starts],
        _segment(w * (d - radius_sum) / radius_sum, c, n) / w_sum, n_species, same,
        d_min / (graph.volume / n) ** (1.0 / 3.0),
    ])
    nb_mean = _segment(w[:, None] * props[j], c, n) / w_sum[:, None]
    nb_absdiff = _segment(w[:, None] * np.abs(props[j] - props[c]), c, n) / w_sum[:, None]
    return np.hstack([env, nb_mean, nb_absdiff])


def _cell(graph: CrystalGraph, props: np.ndarray, rcov: np.ndarray, weight: np.ndarray, cell: np.ndarray,
          gsvol: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Global features (53,) shared by every atom, and the own-fraction column (n,); *rcov* in Å."""
    n = graph.n_atoms
    vpa = graph.volume / n
    lengths = np.sort(np.linalg.norm(cell, axis=1))
    a, b, c = cell
    angles = [np.degrees(np.arccos(np.clip(np.dot(u, v) / np.linalg.norm(u) / np.linalg.norm(v), -1, 1)))
              for u, v in ((b, c), (a, c), (a, b))]
    _, inverse, counts = np.unique(graph.numbers, return_inverse=True, return_counts=True)
    mean = props.mean(axis=0)
    glob = np.concatenate([
        [vpa, weight.sum() / graph.volume * _AMU_PER_A3_TO_G_PER_CM3,
         np.sum(4.0 / 3.0 * np.pi * rcov**3) / graph.volume, np.log(n), float(len(counts)),
         lengths[2] / lengths[0], lengths[1] / lengths[0], float(np.mean(np.abs(np.array(angles) - 90.0)))],
        mean, np.abs(props - mean).mean(axis=0), [vpa / gsvol.mean()],
    ])
    return glob, counts[inverse] / n


def atom_features(graph: CrystalGraph, cell: np.ndarray, where: str = "") -> np.ndarray:
    """The per-atom feature matrix of one crystal (columns as :func:`feature_names`).

    Parameters
    ----------
    graph : CrystalGraph
        The crystal's graph (neighbours and distances in Å).
    cell : numpy.ndarray, shape (3, 3)
        Lattice vectors as rows, Å.
    where : str
        Entry name for error messages.

    Returns
    -------
    numpy.ndarray, shape (n_atoms, 178)
    """
    check_numbers(graph.numbers, where)
    magpie, oliynyk = _by_number("magpie")[graph.numbers], _by_number("oliynyk")[graph.numbers]
    names = _tables()[0]
    rcov = magpie[:, names.index("CovalentRadius")] / 100.0  # pm → Å
    env = _environment(graph, magpie, rcov)
    glob, own = _cell(graph, magpie, rcov, magpie[:, names.index("AtomicWeight")], cell,
                      magpie[:, names.index("GSvolume_pa")])
    rows = np.broadcast_to(glob, (graph.n_atoms, glob.size))
    return np.hstack([magpie, oliynyk, env, rows, own[:, None]])


def node_features(numbers: np.ndarray, where: str = "") -> np.ndarray:
    """CGCNN node inputs: the 22 Magpie properties of each atom, standardised over the table's elements.

    Returns
    -------
    numpy.ndarray, shape (n_atoms, 22)
    """
    check_numbers(numbers, where)
    table = element_table("magpie")
    return (_by_number("magpie")[numbers] - table.mean().to_numpy()) / table.std().to_numpy()
