"""``potential md --label-on-the-fly``: a committee folder, its training frames and a start structure
in, a run of :func:`nnsurrogate.atomistic.on_the_fly.run_on_the_fly` out (see there for the files)."""

from __future__ import annotations

from pathlib import Path

from nnsurrogate.core.engine.progress import Progress
from nnsurrogate.core.errors import UserInputError

__all__ = ["on_the_fly_run", "training_frames_of"]


def training_frames_of(model: str, given: Path | None) -> Path:
    """The frames the committee *model* was trained on: *given*, else the ``data.xyz`` an
    active-learning or on-the-fly run keeps beside its ``committee/``."""
    if given is not None:
        return given
    for candidate in (Path(model) / "data.xyz", Path(model).parent / "data.xyz"):
        if candidate.is_file():
            return candidate
    raise UserInputError("on-the-fly labelling retrains the committee: give its training frames with --train-data",
                         "--train-data")


def on_the_fly_run(model: str, atoms, train_data: Path | None, options, config, out: Path, resume: bool = False,
                   progress: Progress | None = None) -> dict:
    """Load the committee *model* (a calibrated one keeps its calibration) and its training frames, then
    run MD that labels on the fly; returns ``md.json``'s contents."""
    from nnsurrogate.atomistic.committee import committee_calibration, is_committee, load_committee
    from nnsurrogate.atomistic.data import read_frames
    from nnsurrogate.atomistic.on_the_fly import run_on_the_fly

    if not is_committee(model):
        raise UserInputError("on-the-fly labelling needs a committee folder (potential committee, join or "
                             "active-learn output): its spread is the uncertainty", model)
    members = load_committee(model)
    species = list(members[0].species)
    missing = sorted(set(atoms.get_chemical_symbols()) - set(species))
    if missing:
        raise UserInputError(f"the committee knows {' '.join(species)}, not {' '.join(missing)}", "start structure")
    frames = read_frames(training_frames_of(model, train_data), species=species,
                         cutoff=max(m.cutoff for m in members))
    return run_on_the_fly(atoms, members, frames, options, config, out, resume, committee_calibration(model), progress)
