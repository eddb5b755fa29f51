"""A found formula in the forms a user pastes elsewhere: sympy, LaTeX and a NumPy function.

:func:`formula_exports` gives all three for a fitted expression; :func:`numpy_source` is the text of
a self-contained Python module (``import numpy``, one function whose arguments are the input
columns, in column order) that evaluates exactly the expression the estimator predicts with.
Column names that are not Python identifiers (``"T (K)"``) become ``x0, x1, …`` arguments, and the
docstring of the function says which column each stands for.
"""

from __future__ import annotations

import keyword
import os
from collections.abc import Sequence
from pathlib import Path

import sympy
from sympy.printing.numpy import NumPyPrinter

from nnsurrogate.symbolic.expression import formula_string


def _argument_names(symbols: Sequence[sympy.Symbol]) -> list[str]:
    """Python argument names for *symbols*: the symbol name where it is an identifier, else ``x{j}``."""
    out = []
    for j, symbol in enumerate(symbols):
        name = symbol.name
        ok = name.isidentifier() and not keyword.iskeyword(name) and name not in ("numpy", "formula")
        out.append(name if ok else f"x{j}")
    return out


def _latex_name(name: str) -> str | None:
    r"""LaTeX for a column name sympy would mangle (``nb_mean_GSvolume_pa``, ``T (K)``); ``None`` for plain names.

    A letter or a name with one short subscript (``T_K``, ``V_L``) is left to sympy (T_{K}); anything
    longer is set upright with its underscores escaped (\mathrm{nb\_mean\_GSvolume\_pa}).
    """
    head, _, tail = name.partition("_")
    if name.isalnum() or (head.isalnum() and tail.isalnum() and len(head) <= 2):
        return None
    escaped = "".join("\\" + c if c in "_%&#$" else ("\\ " if c == " " else c) for c in name)
    return "\\mathrm{" + escaped + "}"


def latex_string(expr: sympy.Expr) -> str:
    """The formula in LaTeX (sympy's printer; long column names set upright, see :func:`_latex_name`)."""
    names = {s: _latex_name(s.name) for s in expr.free_symbols}
    return sympy.latex(expr, symbol_names={s: n for s, n in names.items() if n is not None})


def numpy_source(expr: sympy.Expr, symbols: Sequence[sympy.Symbol], target: str = "y",
                 function_name: str = "formula") -> str:
    """Source of a Python module defining ``function_name(*columns)`` that evaluates *expr* with NumPy.

    Parameters
    ----------
    expr : sympy.Expr
        The formula, in *symbols*.
    symbols : sequence of sympy.Symbol
        The input symbols in column order; they become the function's arguments.
    target : str
        Name of the predicted quantity (for the docstring).
    function_name : str
        Name of the function (a Python identifier).

    Returns
    -------
    str
        Module text; ``exec`` it, or save it as ``formula.py`` and import it. The function takes
        arrays (broadcast) or floats and returns ``expr`` evaluated in float64.
    """
    if not function_name.isidentifier():
        raise ValueError(f"function_name must be a Python identifier, got {function_name!r}")
    names = _argument_names(symbols)
    renamed = expr.xreplace({s: sympy.Symbol(n) for s, n in zip(symbols, names) if s.name != n})
    body = NumPyPrinter({"fully_qualified_modules": True}).doprint(renamed)
    if not renamed.free_symbols:  # a constant formula still gives one value per row
        body = f"numpy.full(numpy.broadcast_shapes({', '.join(f'numpy.shape({n})' for n in names)}), {body})"
    legend = "".join(f"\n        {n}: column '{s.name}'" for s, n in zip(symbols, names))
    as_float = "".join(f"    {n} = numpy.asarray({n}, dtype=numpy.float64)\n" for n in names)
    return (f'"""{target} ≈ {formula_string(expr)} (found by nnsurrogate SymbolicRegressor)."""\n\n'
            "import numpy\n\n\n"
            f"def {function_name}({', '.join(names)}):\n"
            f'    """{target} ≈ {formula_string(expr)}\n\n    Parameters (floats or NumPy arrays, broadcast):'
            f'{legend}\n    """\n{as_float}'
            f"    return {body}\n")


def formula_exports(expr: sympy.Expr, symbols: Sequence[sympy.Symbol], target: str = "y") -> dict[str, str]:
    """``{"sympy", "latex", "numpy"}``: the formula as sympy prints it, in LaTeX, and as a NumPy module."""
    return {"sympy": formula_string(expr), "latex": latex_string(expr), "numpy": numpy_source(expr, symbols, target)}


def write_formula_files(folder: str | os.PathLike, exports: dict[str, str], stem: str = "formula") -> list[Path]:
    """Write ``{stem}.py`` (the NumPy module) and ``{stem}.tex`` (the LaTeX equation) into *folder*, atomically."""
    from nnsurrogate.core.files import atomic_path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, text in ((".py", exports["numpy"]), (".tex", exports["latex"] + "\n")):
        path = folder / f"{stem}{suffix}"
        with atomic_path(path) as tmp:
            Path(tmp).write_text(text, encoding="utf-8")
        written.append(path)
    return written
