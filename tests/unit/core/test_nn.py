"""EnsembleMLP: M independent networks in stacked tensors."""

from __future__ import annotations

import math

import pytest
import torch

from nnsurrogate.core.nn import EnsembleMLP, check_activation


def _randn(*shape):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(sum(shape)))


def _net(seed=0, **kw):
    args = dict(n_members=3, n_in=4, n_out=2, hidden=(8, 6), activation="tanh")
    args.update(kw)
    return EnsembleMLP(generator=torch.Generator().manual_seed(seed), **args)


def test_output_shape_for_shared_and_per_member_batches():
    net = _net()
    assert net.n_members == 3
    assert net(_randn(5, 4)).shape == (3, 5, 2)
    assert net(_randn(3, 7, 4)).shape == (3, 7, 2)


def test_member_equals_its_own_plain_mlp():
    net = _net(activation="silu")
    x = _randn(3, 5, 4)
    out = net(x)
    for m in range(3):
        h = x[m]
        for layer in net.layers[:-1]:
            h = torch.nn.functional.silu(h @ layer.weight[m] + layer.bias[m])
        ref = h @ net.layers[-1].weight[m] + net.layers[-1].bias[m]
        torch.testing.assert_close(out[m], ref, rtol=1e-5, atol=1e-6)


def test_shared_batch_gives_each_member_the_same_input():
    net = _net()
    x = _randn(5, 4)
    torch.testing.assert_close(net(x), net(x.unsqueeze(0).expand(3, -1, -1).clone()))


def test_members_differ_after_init():
    net = _net()
    for layer in net.layers:
        w = layer.weight
        for i in range(3):
            for j in range(i + 1, 3):
                assert not torch.allclose(w[i], w[j])
        assert torch.all(layer.bias == 0)
    out = net(_randn(10, 4))
    assert not torch.allclose(out[0], out[1])


def test_members_are_independent_in_the_gradient():
    net = _net()
    out = net(_randn(6, 4))
    out[0].sum().backward()
    for layer in net.layers:
        assert torch.all(layer.weight.grad[1:] == 0)
        assert torch.all(layer.bias.grad[1:] == 0)
        assert layer.weight.grad[0].abs().sum() > 0


def test_changing_one_member_leaves_the_others_unchanged():
    net = _net()
    x = _randn(6, 4)
    before = net(x).detach()
    with torch.no_grad():
        net.layers[0].weight[1] += 1.0
    after = net(x).detach()
    torch.testing.assert_close(after[0], before[0], rtol=0, atol=0)
    torch.testing.assert_close(after[2], before[2], rtol=0, atol=0)
    assert not torch.allclose(after[1], before[1])


@pytest.mark.parametrize(("activation", "gain"), [("tanh", 5 / 3), ("relu", math.sqrt(2.0))])
def test_initial_weight_scale(activation, gain):
    net = EnsembleMLP(4, 400, 8, hidden=(300,), activation=activation, generator=torch.Generator().manual_seed(0))
    assert net.layers[0].weight.std().item() == pytest.approx(gain / math.sqrt(400), rel=0.02)
    assert net.layers[1].weight.std().item() == pytest.approx(1.0 / math.sqrt(300), rel=0.05)


def test_same_generator_seed_same_weights():
    a, b, c = _net(seed=1), _net(seed=1), _net(seed=2)
    for la, lb, lc in zip(a.layers, b.layers, c.layers):
        assert torch.equal(la.weight, lb.weight)
        assert not torch.equal(la.weight, lc.weight)


def test_dropout_is_random_in_training_and_off_in_eval():
    net = _net(dropout=0.5)
    x = _randn(20, 4)
    net.train()
    assert not torch.equal(net(x), net(x))
    net.eval()
    assert torch.equal(net(x), net(x))


def test_unknown_activation():
    assert check_activation("gelu") == "gelu"
    with pytest.raises(ValueError, match="unknown activation 'sigmoid'"):
        _net(activation="sigmoid")
