"""Options shared by every command that trains a potential (``train``, ``committee``, ``active-learn``):
the NEP / Behler–Parrinello hyperparameters and the loss weights, defined once."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from nnsurrogate.cli.options import OptionGroup
from nnsurrogate.core.errors import UserInputError

__all__ = ["LABELS", "LOSS", "MODEL", "MODELS", "model_hyper"]

MODELS = ("nep", "bp", "mace")  # atomistic.models.TRAINABLE, kept literal: the CLI starts without torch

#: Model hyperparameters (NEP and Behler–Parrinello), passed to a command as ``hyper_options``.
MODEL = OptionGroup("hyper_options", {
    "cutoff": (str, typer.Option("5,4", "--cutoff", help="Radial and angular cutoffs, Å.")),
    "n_max": (str, typer.Option("4,4", "--n-max", help="nep: radial and angular n_max.")),
    "basis_size": (str, typer.Option("8,8", "--basis-size", help="nep: radial and angular Chebyshev basis size.")),
    "l_max": (str, typer.Option("4,2,0", "--l-max", help="nep: 3-body l_max, 4-body (0 or 2), 5-body (0 or 1).")),
    "neurons": (int, typer.Option(30, "--neurons", help="nep: hidden neurons per element.")),
    "type_cutoffs": (str, typer.Option(None, "--type-cutoffs", help="nep: type-wise cutoffs, each element's radial,"
                                       "angular cutoff in Å, e.g. 'Pb=8,4 Te=7,4' (a pair uses the mean of its two "
                                       "elements'; an element not named keeps --cutoff).")),
    "zbl": (str, typer.Option(None, "--zbl", help="nep: add GPUMD's universal ZBL repulsion between these inner,outer "
                              "cutoffs in Å, e.g. '1,2'; a third number is GPUMD's type-wise cutoff factor.")),
    "sf_file": (Path, typer.Option(None, "--sf-file", help="bp: symmetry-function overrides (JSON or YAML).")),
    "n_radial": (int, typer.Option(8, "--n-radial", help="bp: G2 functions per element (automatic grid).")),
    "angular": (str, typer.Option("g4", "--angular", help="bp: angular functions, g4 or g5.")),
    "hidden": (str, typer.Option("20,20", "--hidden", help="bp: hidden-layer widths per element.")),
    "activation": (str, typer.Option("tanh", "--activation", help="bp: tanh or silu.")),
    "hidden_irreps": (str, typer.Option("32x0e + 32x1o", "--hidden-irreps", help="mace: node features, channels × "
                                        "irreps (e.g. '64x0e + 64x1o'); the largest --cutoff is its r_max.")),
    "interactions": (int, typer.Option(2, "--interactions", help="mace: message-passing layers.")),
    "max_ell": (int, typer.Option(3, "--max-ell", help="mace: highest degree of the edge spherical harmonics.")),
    "correlation": (int, typer.Option(3, "--correlation", help="mace: messages coupled per layer (body order + 1).")),
})

#: Loss weights (NEP's λ), passed to a command as ``loss_options``.
LOSS = OptionGroup("loss_options", {
    "lambda_e": (float, typer.Option(0.1, "--lambda-e", help="Weight of the energy RMSE (eV/atom).")),
    "lambda_f": (float, typer.Option(1.0, "--lambda-f", help="Weight of the force RMSE (eV/Å).")),
    "lambda_v": (float, typer.Option(0.1, "--lambda-v", help="Weight of the virial RMSE (eV/atom).")),
    "lambda_1": (float, typer.Option(0.0, "--lambda-1", help="Weight of the L1 norm of the parameters.")),
    "lambda_2": (float, typer.Option(0.0, "--lambda-2", help="Weight of the L2 norm of the parameters.")),
})


#: Names of the labels in an extended-XYZ file that uses none of the common spellings, passed to a
#: command as ``label_keys`` (``{"energy_key": "dft_energy", …}``, ``None`` for the defaults).
LABELS = OptionGroup("label_keys", {
    "energy_key": (str, typer.Option(None, "--energy-key", help="Name of the energy in the file (default: energy, "
                                 "Energy or REF_energy).")),
    "forces_key": (str, typer.Option(None, "--forces-key", help="Name of the forces (default: forces, force or "
                                 "REF_forces).")),
    "stress_key": (str, typer.Option(None, "--stress-key", help="Name of the stress (default: stress or REF_stress).")),
    "virial_key": (str, typer.Option(None, "--virial-key", help="Name of the virial (default: virial, Virial or "
                                 "REF_virial).")),
})


def _floats(text: str, option: str, n: int) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise UserInputError(f"expects {n} comma-separated numbers, got '{text}'", option) from None
    if len(values) != n or not all(math.isfinite(v) and v > 0 for v in values):
        raise UserInputError(f"expects {n} positive comma-separated numbers, got '{text}'", option)
    return values


def _ints(text: str, option: str, n: int, allow_zero: bool = False) -> tuple[int, ...]:
    kind = "non-negative" if allow_zero else "positive"
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise UserInputError(f"expects {n} comma-separated integers, got '{text}'", option) from None
    if len(values) != n or min(values) < (0 if allow_zero else 1):
        raise UserInputError(f"expects {n} comma-separated {kind} integers, got '{text}'", option)
    return values


def _nep_hyper(o: dict) -> dict:
    """NEP options → the ``hyper`` mapping of :class:`~nnsurrogate.atomistic.nep.NEPSpec` (type-wise
    cutoffs as ``{element: (radial, angular)}``, put in the model's type order once its species are known)."""
    hyper = {"cutoff": _floats(o["cutoff"], "--cutoff", 2), "n_max": _ints(o["n_max"], "--n-max", 2, True),
             "basis_size": _ints(o["basis_size"], "--basis-size", 2, True),
             "l_max": _ints(o["l_max"], "--l-max", 3, True), "neurons": o["neurons"]}
    if o.get("type_cutoffs"):
        hyper["type_cutoffs"] = _type_cutoffs(o["type_cutoffs"])
    if o.get("zbl"):
        parts = o["zbl"].split(",")
        values = _floats(o["zbl"], "--zbl", 3 if len(parts) == 3 else 2)
        hyper["zbl"], hyper["zbl_factor"] = values[:2], (values[2] if len(values) == 3 else None)
    return hyper


def _type_cutoffs(text: str) -> dict[str, tuple[float, float]]:
    """'Pb=8,4 Te=7,4' → {'Pb': (8.0, 4.0), 'Te': (7.0, 4.0)}."""
    out: dict[str, tuple[float, float]] = {}
    for item in text.replace(";", " ").split():
        element, _, values = item.partition("=")
        if not element or not values or element in out:
            raise UserInputError(f"expects element=radial,angular items such as 'Pb=8,4 Te=7,4', got '{text}'",
                                 "--type-cutoffs")
        out[element] = _floats(values, "--type-cutoffs", 2)
    return out


def _bp_hyper(o: dict) -> dict:
    """Behler–Parrinello options → the ``hyper`` mapping of :func:`nnsurrogate.atomistic.bp.build_bp_model`."""
    cutoff, hidden, sf_file = o["cutoff"], o["hidden"], o["sf_file"]
    cutoffs = _floats(cutoff, "--cutoff", 2 if "," in cutoff else 1)
    widths = _ints(hidden, "--hidden", len([p for p in hidden.split(",") if p.strip()]) or 1)
    if o["angular"] not in ("g4", "g5"):
        raise UserInputError(f"must be g4 or g5, got '{o['angular']}'", "--angular")
    if o["activation"] not in ("tanh", "silu"):
        raise UserInputError(f"must be tanh or silu, got '{o['activation']}'", "--activation")
    if o["n_radial"] < 1:
        raise UserInputError(f"must be at least 1, got {o['n_radial']}", "--n-radial")
    if sf_file is not None and not Path(sf_file).is_file():
        raise UserInputError("no such symmetry-function file", str(sf_file))
    return {"cutoff": cutoffs, "n_radial": o["n_radial"], "angular_kind": o["angular"], "hidden": widths,
            "activation": o["activation"], "sf_file": str(sf_file) if sf_file is not None else None}


def _mace_hyper(o: dict) -> dict:
    """MACE options → the ``hyper`` mapping of :func:`nnsurrogate.atomistic.mace.build_mace_model`."""
    cutoff = o["cutoff"]
    cutoffs = _floats(cutoff, "--cutoff", 2 if "," in cutoff else 1)
    for name, flag, least in (("interactions", "--interactions", 1), ("max_ell", "--max-ell", 0),
                              ("correlation", "--correlation", 1)):
        if o[name] < least:
            raise UserInputError(f"must be at least {least}, got {o[name]}", flag)
    from nnsurrogate.atomistic.mace.model import check_irreps

    check_irreps(o["hidden_irreps"], "--hidden-irreps")
    return {"cutoff": max(cutoffs), "hidden_irreps": o["hidden_irreps"], "num_interactions": o["interactions"],
            "max_ell": o["max_ell"], "correlation": o["correlation"]}


def model_hyper(model: str, options: dict) -> dict:
    """The ``hyper`` mapping of *model* (``nep``, ``bp`` or ``mace``) from the :data:`MODEL` options."""
    if model not in MODELS:
        raise UserInputError(f"unknown model '{model}'; choose one of {', '.join(MODELS)}", "--model")
    return {"bp": _bp_hyper, "mace": _mace_hyper, "nep": _nep_hyper}[model](options)
