"""Expression utilities: node counts by hand, constant fitting on exact data, equivalence."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from nnsurrogate.symbolic.expression import (complexity, equivalent_up_to_constants, evaluate, formula_string,
                                             make_symbols, parametrize, refit_constants, round_constants,
                                             simplify, snap_constants)


def test_complexity_counts_every_node():
    x0, x1, x2 = sympy.symbols("x0 x1 x2")
    # Add(Mul(2.5, x0, x1), Pow(x2, 2)): Add, Mul, 2.5, x0, x1, Pow, x2, 2
    assert complexity(sympy.Float(2.5) * x0 * x1 + x2 ** 2) == 8
    # Mul(5.67e-8, Pow(T, 4)): Mul, 5.67e-8, Pow, T, 4
    T = sympy.Symbol("T", positive=True)
    assert complexity(sympy.Float(5.67e-8) * T ** 4) == 5
    assert complexity(x0) == 1 and complexity(sympy.Float(3.0)) == 1
    # x0 - x1 is Add(x0, Mul(-1, x1)): 5 nodes
    assert complexity(x0 - x1) == 5


def test_make_symbols_uses_names_and_positivity():
    X = np.array([[1.0, -1.0], [2.0, 3.0]])
    a, b = make_symbols(["kappa_W_mK", "T (K)"], X)
    assert a.name == "kappa_W_mK" and a.is_positive
    assert b.name == "T (K)" and b.is_positive is None and b.is_real
    assert sympy.sqrt(a ** 2) == a  # positivity lets sympy simplify


def test_evaluate_matches_numpy_and_flags_undefined_forms():
    X = np.random.default_rng(0).uniform(0.5, 2.0, (50, 2))
    x, y = make_symbols(["x", "y"], X)
    np.testing.assert_allclose(evaluate(sympy.exp(x) / y, (x, y), X), np.exp(X[:, 0]) / X[:, 1], rtol=1e-14)
    assert np.all(np.isnan(evaluate(x / sympy.Integer(0), (x, y), X)))  # zoo
    assert evaluate(sympy.Float(2.0), (x, y), X).shape == (50,)
    assert np.isnan(evaluate(sympy.log(x - 1), (x, y), X)[X[:, 0] < 1]).all()


def test_refit_constants_recovers_exact_constants():
    X = np.linspace(0.0, 5.0, 60)[:, None]
    (t,) = make_symbols(["t"], X)
    y = 3.2 * np.exp(-0.7 * X[:, 0]) + 1.5
    start = sympy.Float(3.0) * sympy.exp(sympy.Float(-0.6) * t) + sympy.Float(1.4)
    fitted = refit_constants(parametrize(start), (t,), X, y)
    np.testing.assert_allclose(sorted(fitted.values), sorted([3.2, -0.7, 1.5]), rtol=1e-7)


def test_snap_constants_drops_negligible_and_keeps_needed_constants():
    X = np.random.default_rng(2).uniform(0.5, 2.0, (80, 2))
    x, z = make_symbols(["x", "z"], X)
    y = 2.5 * X[:, 0] * X[:, 1] + 0.3
    noisy = sympy.Float(2.50000001) * x * z + sympy.Float(0.3000000004) + sympy.Float(1e-10) * x
    par = parametrize(noisy)
    snapped = snap_constants(par, (x, z), X, y, tolerance=1e-3, digits=5).substitute()
    assert snapped == sympy.Float(2.5) * x * z + sympy.Float(0.3)
    assert formula_string(snapped) == "2.5*x*z + 0.3"


def test_round_constants_makes_integers_exact():
    x = sympy.Symbol("x")
    assert round_constants(sympy.Float(2.0000001) * x ** sympy.Float(2.0), digits=5) == 2 * x ** 2
    assert formula_string(sympy.Float(5.9751)) == "5.9751"


def test_simplify_never_grows_an_expression():
    L, g = sympy.symbols("L g", positive=True)
    expr = sympy.Float(6.28) * sympy.sqrt(L) * sympy.sqrt(1 / g)
    out = simplify(expr)
    assert complexity(out) <= complexity(expr)
    assert sympy.simplify(out - expr) == 0
    assert simplify((L ** 2 - g ** 2) / (L - g)) == L + g


@pytest.mark.parametrize(("found", "verdict"), [
    ("5.67e-8*T**4*eps + 90", True),                # other constant and an offset
    ("2*T**4*eps", True),                           # ratio is a constant
    ("1.19e-5*T**3*eps*(0.0048*T - 0.064)", False),  # an extra T³ term
    ("5.67e-8*T**3*eps", False),                    # wrong power
])
def test_equivalence_of_stefan_boltzmann_forms(found, verdict):
    X = np.random.default_rng(3).uniform([0.1, 200.0], [1.0, 2000.0], (300, 2))
    eps, T = make_symbols(["eps", "T"], X)
    truth = sympy.Float(5.670374e-8) * eps * T ** 4
    expr = sympy.sympify(found, locals={"eps": eps, "T": T})
    assert equivalent_up_to_constants(expr, truth, (eps, T), X)[0] is verdict


def test_equivalence_with_a_constant_inside_a_function():
    X = np.random.default_rng(4).uniform(10.0, 1500.0, (300, 1))
    (T,) = make_symbols(["T"], X)
    truth = sympy.Float(24.94) * (1 - sympy.exp(-T / 300))
    close = sympy.Float(24.94) - sympy.Float(25.05) * sympy.exp(sympy.Float(-0.003336) * T)
    ok, how = equivalent_up_to_constants(close, truth, (T,), X)
    assert ok and how == "same form, other constants"
    wrong = sympy.Float(24.94) - sympy.Float(25.05) * sympy.exp(sympy.Float(-1.1e-5) * T ** 2)
    assert not equivalent_up_to_constants(wrong, truth, (T,), X)[0]


def _candidate(size: int, squared: np.ndarray):
    from nnsurrogate.symbolic.pareto import Candidate

    return Candidate(sympy.Integer(size), size, float(np.mean(squared)), 0.0, 0.0, 0.0, squared)


def test_selection_takes_the_simplest_formula_within_one_standard_error_of_the_best():
    """p = nRT/V exactly, noise on the target: a longer formula that fits the noise a little better on the
    validation rows is not chosen over the short one unless the rows tell the difference from chance."""
    from nnsurrogate.symbolic.pareto import select

    rng = np.random.default_rng(0)
    short = 1.0 + rng.normal(0.0, 0.1, 200)  # squared validation errors of the true law, row by row
    longer = short + rng.normal(-0.01, 0.3, 200)  # 1 % lower on average, the rows scattering either way
    front = [_candidate(9, short), _candidate(30, longer)]
    d = longer - short
    assert np.mean(d) < 0 and abs(np.mean(d)) < np.std(d, ddof=1) / np.sqrt(len(d)) * 2
    assert select(front, tolerance=0.0, noise=0.0) == 1  # best validation MSE alone: the long one
    assert select(front, tolerance=0.0, noise=2.0) == 0  # within 2 standard errors: the short one
    much_better = [_candidate(9, short), _candidate(30, short * 0.2)]  # a real improvement stays chosen
    assert select(much_better, tolerance=0.05, noise=1.0) == 1


def test_exports_evaluate_like_the_expression_and_print_latex():
    """The NumPy module computes exactly the sympy expression (non-identifier names become x0, x1 …)."""
    import sympy

    from nnsurrogate.symbolic.export import formula_exports

    a, b = sympy.Symbol("T (K)", positive=True), sympy.Symbol("nb_mean_GSvolume_pa", real=True)
    expr = sympy.Float(2.5) * sympy.sqrt(a) - sympy.log(sympy.Abs(b)) / a + sympy.exp(sympy.Float(-0.1) * b)
    exports = formula_exports(expr, (a, b), "k")
    namespace: dict = {}
    exec(exports["numpy"], namespace)  # noqa: S102 - generated here
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.uniform(1, 9, 50), rng.normal(size=50)])
    from nnsurrogate.symbolic.expression import evaluate

    assert np.allclose(namespace["formula"](X[:, 0], X[:, 1]), evaluate(expr, (a, b), X), rtol=1e-12)
    assert "def formula(x0, nb_mean_GSvolume_pa):" in exports["numpy"] and "column 'T (K)'" in exports["numpy"]
    assert r"\mathrm{nb\_mean\_GSvolume\_pa}" in exports["latex"] and r"\sqrt" in exports["latex"]
    constant = formula_exports(sympy.Float(2.0), (a,), "k")
    exec(constant["numpy"], namespace)  # noqa: S102
    assert namespace["formula"](np.ones(4)).shape == (4,)
