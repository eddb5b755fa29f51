"""User-facing errors.

Every mistake a user can make with their own input (a bad file, a missing column, a NaN, a tampered
model file) is raised as :class:`UserInputError`. The command line turns it into one line
``error: <what> (<where>)`` on stderr and exit code 2; library users get an ordinary ``ValueError``.
"""

from __future__ import annotations


class UserInputError(ValueError):
    """A problem with the user's input, described by *what* went wrong and *where*.

    Parameters
    ----------
    what : str
        What is wrong, e.g. ``"column 'kappa' not found"``.
    where : str, optional
        Where it is, e.g. ``"films.csv, row 17"``; empty when it has no location.
    """

    def __init__(self, what: str, where: str = "") -> None:
        self.what = what
        self.where = where
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """Return the message as ``what (where)`` on a single line."""
        text = f"{self.what} ({self.where})" if self.where else self.what
        return " ".join(text.split())


class ModelFileError(UserInputError):
    """A model folder that is missing, foreign, from an incompatible version or tampered with."""


class DataWarning(UserWarning):
    """Something in the user's data that is allowed but worth knowing (duplicates, a constant target)."""
