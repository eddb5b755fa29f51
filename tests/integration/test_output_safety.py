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
