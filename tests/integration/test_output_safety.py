"""A busy output folder refuses a second run with one line; nothing in it changes."""

from __future__ import annotations

from nnsurrogate.cli.main import run
from nnsurrogate.core.files import output_lock


def test_training_into_a_busy_folder_is_one_line_error(films_csv, tmp_path, capsys):
    out = tmp_path / "run"
    with output_lock(out):
        code = run(["table", "train", str(films_csv), "--target", "kappa_W_mK", "--epochs", "1", "--members", "1",
                    "--quiet", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: another run") and str(out) in err[0]
    assert not out.exists()


def test_a_training_run_that_fails_midway_leaves_no_folder(films_csv, tmp_path, capsys, monkeypatch):
    import nnsurrogate.tabular.workflow as workflow
    from nnsurrogate.core.errors import UserInputError

    def fail(ds, options, spec, values, ckpt_dir, low=None):
        assert ckpt_dir.is_dir()  # the run had started writing
        raise UserInputError("the loss became NaN", "epoch 3")

    monkeypatch.setattr(workflow, "_train_holdout", fail)
    out = tmp_path / "run"
    code = run(["table", "train", str(films_csv), "--target", "kappa_W_mK", "--quiet", "--out", str(out)])
    assert code == 2 and capsys.readouterr().err.strip() == "error: the loss became NaN (epoch 3)"
    assert not out.exists()
