"""vaelab.training.optim.Adam: the arithmetic of torch.optim.Adam, without importing torch._dynamo."""

import copy
import subprocess
import sys

import pytest
import torch

from vaelab.training.optim import Adam


def _net(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(7, 16), torch.nn.SiLU(), torch.nn.Linear(16, 3))


def _steps(net, opt, n, seed):
    g = torch.Generator().manual_seed(seed)
    for _ in range(n):
        x = torch.randn(32, 7, generator=g)
        loss = (net(x) - x[:, :3]).pow(2).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


@pytest.mark.parametrize("wd", [0.0, 1e-2])
def test_bit_identical_to_torch_adam(wd):
    a, b = _net(0), _net(0)
    ours = Adam(a.parameters(), lr=3e-3, weight_decay=wd)
    theirs = torch.optim.Adam(b.parameters(), lr=3e-3, weight_decay=wd, foreach=False)
    _steps(a, ours, 25, 1)
    _steps(b, theirs, 25, 1)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    # the same state, in torch's layout
    sa, sb = ours.state_dict(), theirs.state_dict()
    assert sa["state"].keys() == sb["state"].keys()
    for i in sa["state"]:
        for k in ("step", "exp_avg", "exp_avg_sq"):
            assert torch.equal(sa["state"][i][k], sb["state"][i][k])
    assert sa["param_groups"] == sb["param_groups"]


def test_state_dict_round_trip_continues_exactly():
    a = _net(1)
    opt = Adam(a.parameters(), lr=1e-2)
    _steps(a, opt, 10, 2)
    saved_params = {k: v.clone() for k, v in a.state_dict().items()}
    saved_opt = copy.deepcopy(opt.state_dict())  # like torch, state_dict() holds references
    _steps(a, opt, 10, 3)
    expected = [p.clone() for p in a.parameters()]
    b = _net(5)
    b.load_state_dict(saved_params)
    opt_b = Adam(b.parameters(), lr=1e-2)
    opt_b.load_state_dict(saved_opt)
    _steps(b, opt_b, 10, 3)
    for p, q in zip(b.parameters(), expected, strict=True):
        assert torch.equal(p, q)


def test_mismatched_state_is_refused():
    a = _net(0)
    opt = Adam(a.parameters())
    _steps(a, opt, 1, 0)
    other = Adam(torch.nn.Linear(2, 2).parameters())
    with pytest.raises(ValueError):
        other.load_state_dict(opt.state_dict())
    with pytest.raises(ValueError):
        Adam(a.parameters(), lr=-1.0)


def test_training_does_not_import_dynamo():
    code = ("import sys, numpy as np\n"
            "from vaelab.models import get_model\n"
            "g = get_model('vaelab-cvae', epochs=3); g.progress = False\n"
            "X = np.random.default_rng(0).normal(size=(40, 30)); y = np.repeat(['a', 'b'], 20)\n"
            "g.fit(X, y, seed=0); g.sample({'a': 3}, seed=1)\n"
            "print('torch._dynamo' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"
