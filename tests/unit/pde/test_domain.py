"""Domains, sampling and conditions: points where they belong, bad declarations refused."""

from __future__ import annotations

import numpy as np
import pytest

from nnsurrogate.core.errors import UserInputError
from nnsurrogate.pde import DirichletBC, InitialCondition, Interval, NeumannBC, PointData, Problem, Rectangle, TimeInterval
from nnsurrogate.pde.sampling import sample_unit_cube


@pytest.mark.parametrize("method", ["sobol", "lhs", "uniform"])
def test_samplers_fill_the_unit_cube(method):
    pts = sample_unit_cube(1024, 2, method, seed=3)
    assert pts.shape == (1024, 2) and pts.min() >= 0 and pts.max() <= 1
    counts = np.histogram2d(pts[:, 0], pts[:, 1], bins=4, range=[[0, 1], [0, 1]])[0]
    assert counts.min() > (55 if method == "sobol" else 35)  # 64 expected per cell; Sobol is the most even
    np.testing.assert_array_equal(pts, sample_unit_cube(1024, 2, method, seed=3))


def test_latin_hypercube_is_stratified_per_axis():
    pts = sample_unit_cube(50, 3, "lhs", seed=0)
    for j in range(3):
        assert sorted(np.floor(pts[:, j] * 50).astype(int)) == list(range(50))


def test_space_time_box_samples_interior_faces_and_initial_slice():
    domain = Rectangle((0.0, 2.0), (-1.0, 1.0)) * TimeInterval(0.0, 5.0)
    assert domain.names == ("x", "y", "t") and domain.time == "t" and domain.faces == ("x_min", "x_max", "y_min", "y_max")
    inner = domain.sample_interior(500, seed=1)
    assert np.all(domain.contains(inner))
    pts, owner = domain.sample_faces(400, seed=2)
    on_face = [np.isclose(pts[:, 0], 0), np.isclose(pts[:, 0], 2), np.isclose(pts[:, 1], -1), np.isclose(pts[:, 1], 1)]
    for k in range(4):
        assert np.all(on_face[k][owner == k])
    # split by face measure: the y-faces (length 2) and x-faces (length 2) are equal here
    assert abs(np.sum(owner == 0) - np.sum(owner == 2)) <= 1
    init = domain.sample_initial(100)
    assert np.all(init[:, 2] == 0.0) and np.all(domain.contains(init))


def test_neumann_points_carry_outward_normals():
    domain = Interval(0.0, 1.0) * TimeInterval(0.0, 1.0)
    ps = NeumannBC(0.0).sample(domain, 20, "sobol", 0)
    left = ps.points[:, 0] == 0.0
    assert np.all(ps.aux["sign"][left] == -1.0) and np.all(ps.aux["sign"][~left] == 1.0)
    assert np.all(ps.aux["axis"] == 0)


def test_condition_values_may_be_functions_of_named_coordinates():
    domain = Interval(0.0, 1.0) * TimeInterval(0.0, 2.0)
    ps = InitialCondition(lambda c: np.sin(np.pi * c["x"])).sample(domain, 30, "lhs", 1)
    np.testing.assert_allclose(ps.aux["target"], np.sin(np.pi * ps.points[:, 0]))
    ps = DirichletBC(lambda c: c["t"] ** 2, on="x_max").sample(domain, 10, "sobol", 0)
    assert np.all(ps.points[:, 0] == 1.0)
    np.testing.assert_allclose(ps.aux["target"], ps.points[:, 1] ** 2)


@pytest.mark.parametrize(("build", "message"), [
    (lambda: Interval(1.0, 0.0), "must exceed"),
    (lambda: Interval(0.0, float("nan")), "finite"),
    (lambda: Interval(0.0, 1.0) * Interval(0.0, 1.0, name="y"), "TimeInterval"),
    (lambda: DirichletBC(0.0, on="x_middle").sample(Interval(0, 1) * TimeInterval(0, 1), 5, "sobol", 0), "unknown boundary"),
    (lambda: Problem(Interval(0, 1), lambda f: f.d("x", "x"), [InitialCondition(0.0)]), "time-dependent"),
    (lambda: Problem(Interval(0, 1), lambda f: f.d("x", "x"), [DirichletBC(0.0, component=1)]), "component"),
    (lambda: PointData(np.zeros((2, 2)), [1.0, float("nan")]), "NaN"),
    (lambda: PointData(np.array([[0.5, 0.5], [1.5, 0.2]]), [1.0, 2.0]).as_array(Interval(0, 1) * TimeInterval(0, 1)),
     "outside the domain"),
    (lambda: sample_unit_cube(10, 2, "halton"), "unknown sampler"),
])
def test_bad_declarations_raise_one_line_errors(build, message):
    with pytest.raises(UserInputError) as err:
        build()
    assert message in err.value.one_line() and "\n" not in err.value.one_line()


def test_outside_point_error_names_the_row():
    data = PointData({"x": [0.1, 0.2, 3.0], "t": [0.0, 0.5, 0.5]}, [0.0, 1.0, 2.0], where="m.csv")
    with pytest.raises(UserInputError) as err:
        data.as_array(Interval(0, 1) * TimeInterval(0, 1))
    assert err.value.where == "m.csv, row 3" and "x=3" in err.value.what
