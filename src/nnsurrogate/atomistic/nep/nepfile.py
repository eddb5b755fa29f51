"""Read and write GPUMD's ``nep.txt`` (NEP4 potential), the file GPUMD, NEP_CPU and LAMMPS load.

Layout, as GPUMD's ``nep`` executable writes it (``Fitness::write_nep_txt``)::

    nep4 T  E1 E2 …            (each symbol followed by one space)
    cutoff rc_R rc_A MN_R MN_A (cutoffs with %g, neighbour capacities as integers)
    n_max n_R n_A
    basis_size k_R k_A
    l_max L 4body 5body
    ANN H 0
    then one number per line ("%15.7e"):
      for each type t: w0[t] (H×D, row-major), b0[t] (H), w1[t] (H);  then b1;
      c^R[n][k][t_i][t_j] for n ≤ n_R, k ≤ k_R;  c^A likewise;  q_scaler (D).

Reading keeps every number as float64, so import → export reproduces the file byte for byte.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from nnsurrogate.atomistic.nep.model import NEPModel
from nnsurrogate.atomistic.nep.spec import NEPSpec
from nnsurrogate.core.errors import UserInputError
from nnsurrogate.core.files import atomic_path


def _g(value: float) -> str:
    """C's ``%g``: six significant digits, no trailing zeros."""
    return f"{float(value):g}"


#: tanh(20) is 1 to double (and single) precision: a neuron with zero input weights and the threshold
#: −20 outputs exactly 1, so its output weight acts as a per-element constant.
CONSTANT_NEURON_THRESHOLD = -20.0


def with_references_inside(model: NEPModel) -> NEPModel:
    """The same potential with its per-element reference energies inside the network parameters.

    ``nep.txt`` has one shared bias b1, so different reference energies e_t cannot be stored as
    biases. Each element's network gets one more neuron whose input weights are zero and whose
    threshold is :data:`CONSTANT_NEURON_THRESHOLD` (its output is exactly 1) and whose output weight
    is e_t − ē; the shared bias absorbs ē (the mean). Energies, forces and virials are unchanged
    (up to the file's 8 significant digits on e_t − ē); the model written has ``neurons + 1``.
    """
    ref = np.asarray(model.reference_energies, dtype=np.float64)
    mean = float(ref.mean())
    spec = replace(model.spec, neurons=model.spec.neurons + 1)
    out = NEPModel(spec).to(dtype=model.b1.dtype)
    with torch.no_grad():
        out.w0[:, :-1].copy_(model.w0)
        out.b0[:, :-1].copy_(model.b0)
        out.b0[:, -1] = CONSTANT_NEURON_THRESHOLD
        out.w1[:, :-1].copy_(model.w1)
        out.w1[:, -1].copy_(torch.as_tensor(ref - mean))
        out.b1.copy_(model.b1 - mean)
        for name in ("c_radial", "c_angular", "q_scaler"):
            getattr(out, name).copy_(getattr(model, name))
    return out


def nep_text(model: NEPModel) -> str:
    """The ``nep.txt`` content of *model* (parameters rounded to the file's 8 significant digits).

    Per-element reference energies fold into the shared bias b1 when they are all equal; otherwise
    each element's network gets one constant neuron that carries its reference energy (see
    :func:`with_references_inside`), so the file gives total energies.
    """
    ref = np.asarray(model.reference_energies, dtype=np.float64)
    if not np.all(ref == ref[0]):
        model = with_references_inside(model)
        ref = np.zeros_like(ref)
    spec = model.spec
    b1 = float(model.b1.detach().double()) - float(ref[0])
    lines = [f"nep4{'_zbl' if spec.zbl else ''} {spec.n_types} " + "".join(f"{s} " for s in spec.species),
             *([f"zbl {_g(spec.zbl[0])} {_g(spec.zbl[1])}"] if spec.zbl else []),
             f"cutoff {_g(spec.cutoff[0])} {_g(spec.cutoff[1])} {spec.max_neighbors[0]} {spec.max_neighbors[1]}",
             f"n_max {spec.n_max[0]} {spec.n_max[1]}",
             f"basis_size {spec.basis_size[0]} {spec.basis_size[1]}",
             f"l_max {spec.l_max[0]} {spec.l_max[1]} {spec.l_max[2]}",
             f"ANN {spec.neurons} 0"]
    values = _flat_parameters(model, b1)
    lines.extend(f"{v:15.7e}" for v in values)
    return "\n".join(lines) + "\n"


def _flat_parameters(model: NEPModel, b1: float) -> np.ndarray:
    """All numbers after the header, in GPUMD's order."""
    p = {k: v.detach().double().cpu().numpy() for k, v in model.named_parameters()}
    parts = []
    for t in range(model.spec.n_types):
        parts += [p["w0"][t].ravel(), p["b0"][t], p["w1"][t]]
    parts.append(np.array([b1]))
    for c in (p["c_radial"], p["c_angular"]):  # (T, T, K, N) → file order (N, K, T, T)
        parts.append(c.transpose(3, 2, 0, 1).ravel())
    parts.append(model.q_scaler.detach().double().cpu().numpy())
    return np.concatenate(parts)


def write_nep(model: NEPModel, path: str | os.PathLike) -> None:
    """Write *model* as ``nep.txt`` at *path* (atomically)."""
    text = nep_text(model)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="ascii")


def _header(lines: list[str], where: str) -> tuple[NEPSpec, int]:
    """Parse the six header lines (seven with a zbl line); return the spec and the index of the first number line."""
    shift = 0  # 1 when a zbl line follows the first line

    def tokens(k: int, key: str, counts: tuple[int, ...]) -> list[str]:
        k += shift
        parts = lines[k].split() if k < len(lines) else []
        if not parts or parts[0] != key or len(parts) - 1 not in counts:
            raise UserInputError(f"line {k + 1} should be '{key}' with {' or '.join(map(str, counts))} values",
                                 f"{where}, line {k + 1}")
        return parts[1:]

    first = lines[0].split() if lines else []
    if not first or first[0] not in ("nep4", "nep4_zbl"):
        kind = first[0] if first else "an empty file"
        raise UserInputError(f"only NEP4 potentials ('nep4', 'nep4_zbl') are supported, found '{kind}'"
                             f"{_WHY.get(kind, '')}", f"{where}, line 1")
    zbl = None
    try:
        n_types = int(first[1])
        species = tuple(first[2:])
        if len(species) != n_types:
            raise ValueError
        if first[0] == "nep4_zbl":
            zbl = _zbl_line(tokens(1, "zbl", (2, 3)), where)
            shift = 1
        cut = tokens(1, "cutoff", (2, 4))
        spec = NEPSpec(species=species, cutoff=(float(cut[0]), float(cut[1])),
                       max_neighbors=(int(cut[2]), int(cut[3])) if len(cut) == 4 else (100, 100),
                       n_max=tuple(int(v) for v in tokens(2, "n_max", (2,))),
                       basis_size=tuple(int(v) for v in tokens(3, "basis_size", (2,))),
                       l_max=tuple(int(v) for v in (tokens(4, "l_max", (1, 2, 3)) + ["0", "0"])[:3]),
                       neurons=int(tokens(5, "ANN", (2,))[0]), zbl=zbl)
    except UserInputError as exc:
        raise UserInputError(exc.what, exc.where if exc.where.startswith(where) else f"{where}, header") from None
    except (ValueError, IndexError):
        raise UserInputError("malformed NEP header", f"{where}, lines 1-6") from None
    return spec, 6 + shift


#: Why a NEP flavour is refused (no reference implementation to check it against, or not built yet).
_WHY = {
    "nep3": "; NEP3 is refused because calorine's CPUNEP, the reference every format is checked against, reads "
            "only NEP4",
    "nep3_polarizability": "; NEP3 is refused because calorine's CPUNEP reads only NEP4",
    "nep4_dipole": "; tensorial NEP (dipole) is not implemented yet",
    "nep4_polarizability": "; tensorial NEP (polarizability) is not implemented yet",
    "nep4_charge1": "; charge-aware qNEP is not implemented yet",
    "nep4_charge2": "; charge-aware qNEP is not implemented yet",
    "nep4_zbl_charge1": "; charge-aware qNEP is not implemented yet",
    "nep4_zbl_charge2": "; charge-aware qNEP is not implemented yet",
}


def _zbl_line(values: list[str], where: str) -> tuple[float, float]:
    """``zbl r_inner r_outer`` of the universal ZBL term; the flexible (``zbl 0 0``) and type-wise
    (a third value) variants are refused."""
    if len(values) == 3:
        raise UserInputError("type-wise ZBL cutoffs (a third value on the zbl line) are not supported yet",
                             f"{where}, line 2")
    inner, outer = float(values[0]), float(values[1])
    if inner == 0 and outer == 0:
        raise UserInputError("flexible ZBL (zbl 0 0, fitted pair parameters) is not supported yet", f"{where}, line 2")
    return inner, outer


def read_nep(path: str | os.PathLike, dtype: torch.dtype = torch.float64) -> NEPModel:
    """Load a NEP4 ``nep.txt`` as a :class:`NEPModel` (reference energies 0).

    Raises
    ------
    UserInputError
        For a missing file, another NEP flavour (ZBL, dipole, charge, …), a malformed header or a
        wrong number of parameters.
    """
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise UserInputError("no such nep.txt file", where)
    lines = path.read_text(encoding="ascii", errors="replace").splitlines()
    spec, start = _header(lines, where)
    values = _parameters(lines, start, where)
    expected = spec.n_parameters() + spec.n_descriptors
    if values.size != expected:
        raise UserInputError(f"expected {expected} numbers after the header for this architecture, found {values.size}", where)
    model = NEPModel(spec)
    _assign(model, values)
    return model.to(dtype)


def _parameters(lines: list[str], start: int, where: str) -> np.ndarray:
    """The numbers after the header, one per line; a line that is not a finite number is an error
    naming its line number (1-based, as an editor shows it)."""
    numbers, rows = [], []
    for k in range(start, len(lines)):
        text = lines[k].strip()
        if text:
            numbers.append(text)
            rows.append(k + 1)
    try:
        values = np.array(numbers, dtype=np.float64)
    except ValueError:
        from nnsurrogate.core.tables import is_number

        bad = next(r for r, t in zip(rows, numbers) if not is_number(t))
        raise UserInputError(f"line {bad} is not a number: '{lines[bad - 1].strip()[:40]}'", where) from None
    finite = np.isfinite(values)
    if not finite.all():
        bad = rows[int(np.argmin(finite))]
        raise UserInputError(f"line {bad} is not a finite number: '{lines[bad - 1].strip()}'", where)
    return values


def _assign(model: NEPModel, values: np.ndarray) -> None:
    spec = model.spec
    t, h, d = spec.n_types, spec.neurons, spec.n_descriptors
    (kr, ka), nr, na = spec.n_basis, spec.n_radial, spec.n_angular
    pos = 0

    def take(n: int) -> np.ndarray:
        nonlocal pos
        pos += n
        return values[pos - n : pos]

    w0, b0, w1 = np.empty((t, h, d)), np.empty((t, h)), np.empty((t, h))
    for k in range(t):
        w0[k], b0[k], w1[k] = take(h * d).reshape(h, d), take(h), take(h)
    b1 = take(1)[0]
    c_r = take(nr * kr * t * t).reshape(nr, kr, t, t).transpose(2, 3, 1, 0)
    c_a = take(na * ka * t * t).reshape(na, ka, t, t).transpose(2, 3, 1, 0)
    scaler = take(d)
    with torch.no_grad():
        for name, arr in (("w0", w0), ("b0", b0), ("w1", w1), ("c_radial", c_r), ("c_angular", c_a)):
            getattr(model, name).copy_(torch.from_numpy(np.ascontiguousarray(arr)))
        model.b1.fill_(b1)
        model.q_scaler.copy_(torch.from_numpy(scaler.copy()))


def round_to_file_precision(model: NEPModel) -> None:
    """Round every parameter to what ``nep.txt`` stores (8 significant digits), in place, so the
    model and its exported file are the same potential."""
    ref = np.asarray(model.reference_energies, dtype=np.float64)
    shift = float(ref[0]) if np.all(ref == ref[0]) else 0.0  # the file stores b1 − e when e is shared
    with torch.no_grad():
        for tensor in [*model.parameters(), model.q_scaler]:
            flat = tensor.detach().double().cpu().numpy().ravel()
            offset = shift if tensor is model.b1 else 0.0
            rounded = np.array([float(f"{v - offset:.7e}") + offset for v in flat]).reshape(tensor.shape)
            tensor.copy_(torch.from_numpy(rounded).to(tensor.dtype))
