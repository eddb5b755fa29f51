"""Read and write GPUMD's ``nep.txt`` (NEP3 / NEP4 potentials and tensorial models), the file GPUMD,
NEP_CPU and LAMMPS load.

Layout, as GPUMD's ``nep`` executable writes it (``Fitness::write_nep_txt``)::

    nep4 T  E1 E2 …            (nep3 / nep4, then _zbl, _dipole or _polarizability; symbols each followed by a space)
    zbl r_1 r_2 [factor]       (only with _zbl; "zbl 0 0": the flexible ZBL)
    cutoff rc_R rc_A MN_R MN_A (cutoffs with %g, neighbour capacities as integers; type-wise:
                                rc_R,1 rc_A,1 … rc_R,T rc_A,T MN_R MN_A)
    n_max n_R n_A
    basis_size k_R k_A
    l_max L 4body 5body        (or GPUMD's newer flags L q222 q1111 …)
    ANN H 0
    then one number per line ("%15.7e"):
      for each network t (one per type; NEP3: one): w0[t] (H×D, row-major), b0[t] (H), w1[t] (H);  then b1;
      a polarizability model: its scalar network likewise, then its b1;
      c^R[n][k][t_i][t_j] for n ≤ n_R, k ≤ k_R;  c^A likewise;  q_scaler (D);
      the flexible ZBL: 10 numbers per pair of types t_1 ≤ t_2.

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
        if model.spec.charge_mode:  # the constant neuron carries no charge
            out.w1_charge[:, :-1].copy_(model.w1_charge)
            out.sqrt_epsilon_inf.copy_(model.sqrt_epsilon_inf)
        for name in ("c_radial", "c_angular", "q_scaler", "zbl_params"):
            if getattr(model, name) is not None:
                getattr(out, name).copy_(getattr(model, name))
    return out


def nep_text(model: NEPModel) -> str:
    """The ``nep.txt`` content of *model* (parameters rounded to the file's 8 significant digits).

    Per-element reference energies fold into the shared bias b1 when they are all equal; otherwise
    each element's network gets one constant neuron that carries its reference energy (see
    :func:`with_references_inside`; a NEP3 model is written as the equivalent NEP4 for that), so the
    file gives total energies.
    """
    ref = np.asarray(model.reference_energies, dtype=np.float64)
    if not np.all(ref == ref[0]):
        model = with_references_inside(as_nep4(model) if model.spec.version == 3 else model)
        ref = np.zeros_like(ref)
    spec = model.spec
    b1 = float(model.b1.detach().double()) - float(ref[0])
    suffix = {"potential": ("_zbl" if spec.zbl else "") + (f"_charge{spec.charge_mode}" if spec.charge_mode else ""),
              "dipole": "_dipole", "polarizability": "_polarizability"}
    lines = [f"nep{spec.version}{suffix[spec.model_type]} {spec.n_types} " + "".join(f"{s} " for s in spec.species),
             *([_zbl_text(spec)] if spec.zbl else []), _cutoff_text(spec),
             f"n_max {spec.n_max[0]} {spec.n_max[1]}",
             f"basis_size {spec.basis_size[0]} {spec.basis_size[1]}",
             "l_max " + " ".join(str(v) for v in (spec.l_max_flags or spec.l_max)),
             f"ANN {spec.neurons} 0"]
    values = _flat_parameters(model, b1)
    lines.extend(f"{v:15.7e}" for v in values)
    return "\n".join(lines) + "\n"


def _zbl_text(spec: NEPSpec) -> str:
    factor = f" {_g(spec.zbl_factor)}" if spec.zbl_factor is not None else ""
    return f"zbl {_g(spec.zbl[0])} {_g(spec.zbl[1])}{factor}"


def _cutoff_text(spec: NEPSpec) -> str:
    cuts = spec.type_cutoffs or (spec.cutoff,)
    return "cutoff " + " ".join(f"{_g(r)} {_g(a)}" for r, a in cuts) + \
        f" {spec.max_neighbors[0]} {spec.max_neighbors[1]}"


def as_nep4(model: NEPModel) -> NEPModel:
    """A NEP3 model as the NEP4 model with the same numbers: its shared network copied to every element."""
    spec = replace(model.spec, version=4)
    out = NEPModel(spec, model.reference_energies).to(dtype=model.b1.dtype)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            target = out.state_dict()[name]
            target.copy_(tensor.expand_as(target) if tensor.shape != target.shape else tensor)
    return out


def _flat_parameters(model: NEPModel, b1: float) -> np.ndarray:
    """All numbers after the header, in GPUMD's order."""
    p = {k: v.detach().double().cpu().numpy() for k, v in model.state_dict().items()}
    parts = []
    for suffix in ("", "_pol") if model.spec.model_type == "polarizability" else ("",):
        for t in range(model.spec.n_networks):
            parts += [p["w0" + suffix][t].ravel(), p["b0" + suffix][t], p["w1" + suffix][t]]
            if model.spec.charge_mode:
                parts.append(p["w1_charge"][t])
        if model.spec.charge_mode:
            parts.append(np.array([float(p["sqrt_epsilon_inf"])]))
        parts.append(np.array([b1 if not suffix else float(p["b1_pol"])]))
    for c in (p["c_radial"], p["c_angular"]):  # (T, T, K, N) → file order (N, K, T, T)
        parts.append(c.transpose(3, 2, 0, 1).ravel())
    parts.append(p["q_scaler"])
    if model.zbl_params is not None:
        parts.append(p["zbl_params"].ravel())
    return np.concatenate(parts)


def write_nep(model: NEPModel, path: str | os.PathLike) -> None:
    """Write *model* as ``nep.txt`` at *path* (atomically)."""
    text = nep_text(model)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="ascii")


#: First words of ``nep.txt`` this module reads → (version, model type, has ZBL, charge mode): NEP3 or
#: NEP4, with the ZBL term, tensorial, or charge-aware (qNEP).
KINDS = {**{f"nep{v}{z}{t}": (v, kind, bool(z), 0) for v in (3, 4) for z, t, kind in
            (("", "", "potential"), ("_zbl", "", "potential"), ("", "_dipole", "dipole"),
             ("", "_polarizability", "polarizability"))},
         **{f"nep4{z}_charge{m}": (4, "potential", bool(z), m) for z in ("", "_zbl") for m in (1, 2, 3)}}

#: Why a NEP flavour is refused, by first word.
_WHY = {f"nep5{z}": "NEP5 (an extra bias per element network) is not implemented" for z in ("", "_zbl")}


def _kind(first: list[str], where: str) -> tuple[int, str, bool, int]:
    """(version, model type, has ZBL, charge mode) from the first line's first word, or a one-line refusal."""
    word = first[0] if first else "an empty file"
    if word in KINDS:
        return KINDS[word]
    reason = _WHY.get(word, "not a NEP model this program knows")
    raise UserInputError(f"NEP3, NEP4, tensorial and charge-aware NEP models are read; found '{word}': "
                         f"{reason}", f"{where}, line 1")


def _cutoffs(values: list[str], n_types: int, where: str) -> dict:
    """The cutoff line: rc_R rc_A [MN_R MN_A], or type-wise rc_R,0 rc_A,0 … rc_R,T rc_A,T MN_R MN_A."""
    if len(values) == 2 * n_types + 2 and n_types > 1:
        cuts = tuple((float(values[2 * k]), float(values[2 * k + 1])) for k in range(n_types))
        return {"type_cutoffs": cuts, "max_neighbors": (int(values[-2]), int(values[-1]))}  # NEPSpec sets cutoff
    if len(values) not in (2, 4):
        raise UserInputError(f"the cutoff line should have 2, 4 or {2 * n_types + 2} values", where)
    return {"cutoff": (float(values[0]), float(values[1])),
            "max_neighbors": (int(values[2]), int(values[3])) if len(values) == 4 else (100, 100)}


def _l_max(values: list[str], where: str) -> dict:
    """The l_max line, in either of GPUMD's forms: ``L 0|2 0|1`` (4- and 5-body as 2 and 1) or the
    newer flags ``L q222 q1111 [q112 q123 q233 q134]`` (0 or 1 each), kept as written for re-export."""
    numbers = [int(v) for v in values]
    if len(numbers) == 1:
        return {"l_max": (numbers[0], 0, 0)}
    if len(numbers) <= 3 and numbers[1] in (0, 2):
        return {"l_max": tuple((numbers + [0])[:3])}
    if numbers[1] > 1:
        raise UserInputError(f"unknown l_max flags {' '.join(values)}", where)
    return {"l_max": (numbers[0], 2 * numbers[1], numbers[2]), "l_max_flags": tuple(numbers)}


def _header(lines: list[str], where: str) -> tuple[NEPSpec, int]:
    """Parse the header (six lines, seven with a zbl line); return the spec and the index of the first number line."""
    first = lines[0].split() if lines else []
    version, model_type, has_zbl, charge_mode = _kind(first, where)
    shift = 1 if has_zbl else 0

    def tokens(k: int, key: str, counts: tuple[int, ...] | None) -> list[str]:
        k += shift
        parts = lines[k].split() if k < len(lines) else []
        if not parts or parts[0] != key or (counts is not None and len(parts) - 1 not in counts):
            wanted = f" with {' or '.join(map(str, counts))} values" if counts else ""
            raise UserInputError(f"line {k + 1} should be '{key}'{wanted}", f"{where}, line {k + 1}")
        return parts[1:]

    try:
        n_types = int(first[1])
        species = tuple(first[2:])
        if len(species) != n_types:
            raise ValueError
        fields: dict = {"version": version, "model_type": model_type, "charge_mode": charge_mode}
        if has_zbl:  # the line after the first
            fields.update(_zbl_line(tokens(0, "zbl", (2, 3)), where))
        fields.update(_cutoffs(tokens(1, "cutoff", None), n_types, f"{where}, line {2 + shift}"))
        fields.update(_l_max(tokens(4, "l_max", (1, 2, 3, 4, 5, 6, 7)), f"{where}, line {5 + shift}"))
        spec = NEPSpec(species=species, n_max=tuple(int(v) for v in tokens(2, "n_max", (2,))),
                       basis_size=tuple(int(v) for v in tokens(3, "basis_size", (2,))),
                       neurons=int(tokens(5, "ANN", (2,))[0]), **fields)
    except UserInputError as exc:
        raise UserInputError(exc.what, exc.where if exc.where.startswith(where) else f"{where}, header") from None
    except (ValueError, IndexError):
        raise UserInputError("malformed NEP header", f"{where}, lines 1-6") from None
    return spec, 6 + shift


def _zbl_line(values: list[str], where: str) -> dict:
    """``zbl r_inner r_outer [factor]``: the universal ZBL term, with type-wise cutoffs when a factor
    follows; ``zbl 0 0`` is the flexible ZBL (its pair parameters follow the q_scaler)."""
    inner, outer = float(values[0]), float(values[1])
    factor = float(values[2]) if len(values) == 3 and not (inner == 0 and outer == 0) else None
    return {"zbl": (inner, outer), "zbl_factor": factor}


def read_nep(path: str | os.PathLike, dtype: torch.dtype = torch.float64) -> NEPModel:
    """Load a ``nep.txt`` (NEP3 or NEP4; with the ZBL term, type-wise cutoffs, or tensorial) as a
    :class:`NEPModel` (reference energies 0).

    Raises
    ------
    UserInputError
        For a missing file, a NEP flavour this module does not read (qNEP, NEP5; :data:`_WHY` says
        why), a malformed header or a wrong number of parameters.
    """
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise UserInputError("no such nep.txt file", where)
    lines = path.read_text(encoding="ascii", errors="replace").splitlines()
    spec, start = _header(lines, where)
    values = _parameters(lines, start, where)
    expected = spec.n_parameters() + spec.n_descriptors + spec.n_zbl_parameters
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
    t, h, d, nets = spec.n_types, spec.neurons, spec.n_descriptors, spec.n_networks
    (kr, ka), nr, na = spec.n_basis, spec.n_radial, spec.n_angular
    pos = 0

    def take(n: int) -> np.ndarray:
        nonlocal pos
        pos += n
        return values[pos - n : pos]

    arrays: dict[str, np.ndarray] = {}
    for suffix in ("", "_pol") if spec.model_type == "polarizability" else ("",):
        w0, b0, w1, w1q = np.empty((nets, h, d)), np.empty((nets, h)), np.empty((nets, h)), np.empty((nets, h))
        for k in range(nets):
            w0[k], b0[k], w1[k] = take(h * d).reshape(h, d), take(h), take(h)
            if spec.charge_mode:
                w1q[k] = take(h)
        if spec.charge_mode:
            arrays.update({"w1_charge": w1q, "sqrt_epsilon_inf": take(1)[0]})
        arrays.update({"w0" + suffix: w0, "b0" + suffix: b0, "w1" + suffix: w1, "b1" + suffix: take(1)[0]})
    arrays["c_radial"] = take(nr * kr * t * t).reshape(nr, kr, t, t).transpose(2, 3, 1, 0)
    arrays["c_angular"] = take(na * ka * t * t).reshape(na, ka, t, t).transpose(2, 3, 1, 0)
    arrays["q_scaler"] = take(d)
    if spec.zbl_flexible:
        arrays["zbl_params"] = take(spec.n_zbl_parameters).reshape(-1, 10)
    state = model.state_dict()
    with torch.no_grad():
        for name, arr in arrays.items():
            state[name].copy_(torch.as_tensor(np.array(arr, dtype=np.float64)))


def round_to_file_precision(model: NEPModel) -> None:
    """Round every parameter to what ``nep.txt`` stores (8 significant digits), in place, so the
    model and its exported file are the same potential."""
    ref = np.asarray(model.reference_energies, dtype=np.float64)
    shift = float(ref[0]) if np.all(ref == ref[0]) else 0.0  # the file stores b1 − e when e is shared
    with torch.no_grad():
        for tensor in [*model.parameters(), *model.buffers()]:
            flat = tensor.detach().double().cpu().numpy().ravel()
            offset = shift if tensor is model.b1 else 0.0
            rounded = np.array([float(f"{v - offset:.7e}") + offset for v in flat]).reshape(tensor.shape)
            tensor.copy_(torch.from_numpy(rounded).to(tensor.dtype))
