"""Model folders: exact round trips, and every kind of foreign or tampered file is refused safely."""

from __future__ import annotations

import hashlib
import json
import pickle

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import nnsurrogate
from nnsurrogate.core.errors import ModelFileError
from nnsurrogate.core.modelio import FORMAT, FORMAT_VERSION, HEADER_FILE, WEIGHTS_FILE, load_model, save_model

KIND = "test.Model"


def _tensors():
    rng = np.random.default_rng(0)
    return {
        "w": rng.normal(size=(3, 4, 5)).astype(np.float32),
        "mean": rng.normal(size=4),  # float64
        "ids": np.arange(6, dtype=np.int64).reshape(2, 3),
        "mask": np.array([1, 0, 1], dtype=np.uint8),
        "tiny": np.array([np.finfo(np.float64).tiny, -0.0, 1e308]),
    }


def _header(path):
    return json.loads((path / HEADER_FILE).read_text())


def _rewrite_header(path, **changes):
    header = _header(path)
    header.update(changes)
    (path / HEADER_FILE).write_text(json.dumps(header))


def _refresh_checksum(path):
    digest = hashlib.sha256((path / WEIGHTS_FILE).read_bytes()).hexdigest()
    _rewrite_header(path, weights_sha256=digest)


@pytest.fixture
def model_dir(tmp_path):
    path = tmp_path / "model"
    save_model(path, KIND, _tensors(), {"inputs": ["a", "b"], "units": {"a": "nm"}, "n": 3})
    return path


def test_round_trip_is_exact(model_dir):
    tensors, header = load_model(model_dir, KIND)
    expected = _tensors()
    assert set(tensors) == set(expected)
    for name, value in expected.items():
        assert tensors[name].dtype == value.dtype, name
        np.testing.assert_array_equal(tensors[name], value)
    assert np.signbit(tensors["tiny"][1])  # −0.0 survives bit for bit
    assert header["inputs"] == ["a", "b"] and header["units"] == {"a": "nm"} and header["n"] == 3


def test_header_fields(model_dir):
    header = _header(model_dir)
    assert header["format"] == FORMAT
    assert header["format_version"] == FORMAT_VERSION
    assert header["package_version"] == nnsurrogate.__version__
    assert header["kind"] == KIND
    assert header["weights_sha256"] == hashlib.sha256((model_dir / WEIGHTS_FILE).read_bytes()).hexdigest()
    assert sorted(p.name for p in model_dir.iterdir()) == sorted([HEADER_FILE, WEIGHTS_FILE])


def test_torch_tensors_are_accepted(tmp_path):
    save_model(tmp_path / "m", KIND, {"t": torch.arange(5, dtype=torch.float32).reshape(5, 1).t()}, {})
    tensors, _ = load_model(tmp_path / "m", KIND)
    np.testing.assert_array_equal(tensors["t"], np.arange(5, dtype=np.float32).reshape(1, 5))


def test_flipped_byte_fails_the_checksum(model_dir):
    weights = model_dir / WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0x01  # one bit in the last tensor's data
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="checksum") as info:
        load_model(model_dir, KIND)
    assert "\n" not in info.value.one_line()


def test_truncated_weights_fail_the_checksum(model_dir):
    weights = model_dir / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:-8])
    with pytest.raises(ModelFileError, match="checksum"):
        load_model(model_dir, KIND)


def test_truncated_weights_with_matching_checksum_are_unreadable(model_dir):
    weights = model_dir / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:-8])
    _refresh_checksum(model_dir)
    with pytest.raises(ModelFileError, match="unreadable weights"):
        load_model(model_dir, KIND)


@pytest.mark.parametrize("content", [{"name": "some other tool", "layers": 3}, {"format": "keras", "format_version": 1}])
def test_foreign_json_is_refused(model_dir, content):
    (model_dir / HEADER_FILE).write_text(json.dumps(content))
    with pytest.raises(ModelFileError, match="not an nnsurrogate model"):
        load_model(model_dir, KIND)


def test_json_that_is_not_an_object(model_dir):
    (model_dir / HEADER_FILE).write_text("[1, 2, 3]")
    with pytest.raises(ModelFileError, match="does not hold an object"):
        load_model(model_dir, KIND)


@pytest.mark.parametrize("text", ["{not json", "", '{"format": "nnsurrogate-model",'])
def test_invalid_json(model_dir, text):
    (model_dir / HEADER_FILE).write_text(text)
    with pytest.raises(ModelFileError, match="not valid JSON") as info:
        load_model(model_dir, KIND)
    assert "\n" not in info.value.one_line()


def test_binary_header(model_dir):
    (model_dir / HEADER_FILE).write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_model(model_dir, KIND)


def test_wrong_kind(model_dir):
    with pytest.raises(ModelFileError, match="model is a 'test.Model', expected 'tabular.SurrogateRegressor'"):
        load_model(model_dir, "tabular.SurrogateRegressor")


def test_newer_format_version_is_refused(model_dir):
    _rewrite_header(model_dir, format_version=FORMAT_VERSION + 1)
    with pytest.raises(ModelFileError, match="newer"):
        load_model(model_dir, KIND)


@pytest.mark.parametrize("version", ["two", None, [1]])
def test_garbage_format_version_is_a_model_file_error(model_dir, version):
    _rewrite_header(model_dir, format_version=version)
    with pytest.raises(ModelFileError, match="format_version"):
        load_model(model_dir, KIND)


def test_missing_folder(tmp_path):
    with pytest.raises(ModelFileError, match="no model here"):
        load_model(tmp_path / "absent", KIND)


@pytest.mark.parametrize("missing", [HEADER_FILE, WEIGHTS_FILE])
def test_missing_file(model_dir, missing):
    (model_dir / missing).unlink()
    with pytest.raises(ModelFileError, match="no model here"):
        load_model(model_dir, KIND)


def test_unsupported_tensor_dtype_with_matching_checksum(model_dir):
    # a well-formed safetensors file whose dtype NumPy cannot hold (bfloat16)
    save_file({"w": torch.ones(3, dtype=torch.bfloat16)}, str(model_dir / WEIGHTS_FILE))
    _refresh_checksum(model_dir)
    with pytest.raises(ModelFileError, match="unreadable weights"):
        load_model(model_dir, KIND)


class _Payload:
    """Unpickling this object opens (and so creates) *path*: proof that code ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_pickle_disguised_as_weights_never_runs(model_dir, tmp_path):
    # the payload works: unpickling it does create its file
    control = tmp_path / "control-marker"
    pickle.loads(pickle.dumps(_Payload(control))).close()
    assert control.exists()

    marker = tmp_path / "pwned-marker"
    for blob in (pickle.dumps(_Payload(marker), protocol=2), pickle.dumps(_Payload(marker))):
        (model_dir / WEIGHTS_FILE).write_bytes(blob)
        _refresh_checksum(model_dir)  # the attacker also fixed the checksum
        with pytest.raises(ModelFileError, match="unreadable weights"):
            load_model(model_dir, KIND)
        assert not marker.exists()


def test_torch_save_file_disguised_as_weights_never_runs(model_dir, tmp_path):
    marker = tmp_path / "pwned-marker"
    torch.save({"w": _Payload(marker)}, model_dir / WEIGHTS_FILE)
    _refresh_checksum(model_dir)
    with pytest.raises(ModelFileError, match="unreadable weights"):
        load_model(model_dir, KIND)
    assert not marker.exists()


def test_existing_folder_is_replaced_atomically(tmp_path):
    path = tmp_path / "model"
    save_model(path, KIND, {"v": np.array([1.0])}, {"gen": 1})
    (path / "stale.txt").write_text("from the old model")
    save_model(path, KIND, {"v": np.array([2.0]), "extra": np.zeros(2)}, {"gen": 2})
    tensors, header = load_model(path, KIND)
    assert header["gen"] == 2
    np.testing.assert_array_equal(tensors["v"], [2.0])
    assert sorted(p.name for p in path.iterdir()) == sorted([HEADER_FILE, WEIGHTS_FILE])  # old content gone
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no temporary or backup folders


def test_failed_save_keeps_the_old_folder(tmp_path):
    path = tmp_path / "model"
    save_model(path, KIND, {"v": np.array([1.0])}, {"gen": 1})
    before = {p.name: p.read_bytes() for p in path.iterdir()}
    with pytest.raises((TypeError, ValueError)):
        save_model(path, KIND, {"v": np.array([object()])}, {"gen": 2})  # not a numeric array
    with pytest.raises(TypeError):
        save_model(path, KIND, {"v": np.array([3.0])}, {"gen": object()})  # header not JSON-serialisable
    assert {p.name: p.read_bytes() for p in path.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    assert load_model(path, KIND)[1]["gen"] == 1


def _tamper(path, change):
    """Rewrite the weights with *change* applied and the checksum recomputed (a deliberate edit)."""
    from safetensors.numpy import load_file, save_file

    tensors = load_file(str(path / WEIGHTS_FILE))
    change(tensors)
    save_file(tensors, str(path / WEIGHTS_FILE))
    _refresh_checksum(path)


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: t.update(w=t["w"].reshape(-1)), r"tensor .w. has shape \(60,\), model.json says \[3, 4, 5\]"),
    (lambda t: t.update(w=t["w"].astype(np.float16)), "tensor 'w' has dtype float16, model.json says"),
    (lambda t: t.pop("w"), "tensor 'w': model.json lists it but the weights lack it"),
    (lambda t: t.update(extra=np.zeros(2, np.float32)), "tensor 'extra': model.json does not list it"),
])
def test_weights_that_disagree_with_the_header_are_refused(model_dir, change, message):
    _tamper(model_dir, change)
    with pytest.raises(ModelFileError, match=message) as info:
        load_model(model_dir, KIND)
    assert WEIGHTS_FILE in str(info.value) and "\n" not in str(info.value)


def test_load_weights_checks_the_module_the_header_describes(tmp_path):
    from nnsurrogate.core.modelio import load_weights

    net = torch.nn.Linear(3, 2)
    tensors = {f"net.{k}": v.detach().numpy() for k, v in net.state_dict().items()}
    other = torch.nn.Linear(3, 2)
    load_weights(other, tensors, "folder", prefix="net.")
    assert torch.equal(other.weight, net.weight) and torch.equal(other.bias, net.bias)
    with pytest.raises(ModelFileError, match=r"tensor 'net.weight' has shape \(2, 3\); the model model.json "
                                             r"describes needs \(4, 3\) \(folder\)"):
        load_weights(torch.nn.Linear(3, 4), tensors, "folder", prefix="net.")
    with pytest.raises(ModelFileError, match="tensor 'net.bias' is missing"):
        load_weights(torch.nn.Linear(3, 2), {"net.weight": tensors["net.weight"]}, "folder", prefix="net.")
