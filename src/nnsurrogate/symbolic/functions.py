"""The function vocabulary shared by the symbolic-regression back ends.

Users name the operators a formula may use with one set of names, whatever the back end:

=========  =======  ==========================================================================
name       arity    meaning
=========  =======  ==========================================================================
add        2        a + b
sub        2        a − b
mul        2        a · b
div        2        a / b
sqrt       1        √a
exp        1        eᵃ
log        1        ln a
square     1        a²
sin, cos   1        sin a, cos a (radians)
tanh       1        tanh a
abs        1        |a|
=========  =======  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Sequence

from nnsurrogate.core.errors import UserInputError

#: Every function name the back ends understand, with its arity.
FUNCTIONS: dict[str, int] = {"add": 2, "sub": 2, "mul": 2, "div": 2, "sqrt": 1, "exp": 1, "log": 1,
                             "square": 1, "sin": 1, "cos": 1, "tanh": 1, "abs": 1}

#: The default vocabulary: arithmetic, square root, exponential and logarithm.
DEFAULT_FUNCTIONS: tuple[str, ...] = ("add", "sub", "mul", "div", "sqrt", "exp", "log")


def check_functions(functions: Sequence[str] | str | None, where: str = "functions") -> tuple[str, ...]:
    """Validate a function list (a sequence or a comma-separated string); ``None`` gives the default.

    Raises
    ------
    UserInputError
        An unknown name or an empty list, naming *where*.
    """
    if functions is None:
        return DEFAULT_FUNCTIONS
    names = [f.strip() for f in functions.split(",")] if isinstance(functions, str) else [str(f).strip() for f in functions]
    names = [n for n in names if n]
    unknown = [n for n in names if n not in FUNCTIONS]
    if unknown:
        raise UserInputError(f"unknown function '{unknown[0]}'; choose from {', '.join(FUNCTIONS)}", where)
    if not names:
        raise UserInputError("the function list is empty", where)
    return tuple(dict.fromkeys(names))
