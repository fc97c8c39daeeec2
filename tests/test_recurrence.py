"""The one forward pass and the one backward pass, against autograd, torch.nn.RNN and torch.nn.GRU."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rnnlib.bptt import backward
from rnnlib.model import RNN
from rnnlib.rnn import CELLS, forward

T, B, NH, NV = 6, 4, 5, 7
LENGTHS = torch.tensor([6, 3, 1, 5])                 # left-padded words of a batch


def reference(cell, W, U, b, codes, mask=None, h0=None):
    """Every h_t, straight from the definitions, with one-hot x_t: what autograd differentiates."""
    h = torch.zeros(codes.shape[1], W.shape[1], dtype=W.dtype) if h0 is None else h0
    steps, n = [h], W.shape[1]
    for t in range(codes.shape[0]):
        x = F.one_hot(codes[t], U.shape[1]).to(W.dtype)
        Ux, Wh = x @ U.T + b.T, h @ W.T
        if cell == "gru":
            r, z = torch.sigmoid(Ux[:, :2 * n] + Wh[:, :2 * n]).chunk(2, dim=1)
            new = (1 - z) * torch.tanh(Ux[:, 2 * n:] + r * Wh[:, 2 * n:]) + z * h
        else:
            new = {"tanh": torch.tanh, "relu": torch.relu, "identity": lambda v: v}[cell](Ux + Wh)
        h = new if mask is None else torch.where(mask[t, :, None], new, h)
        steps.append(h)
    return torch.stack(steps)


def random_weights(cell, seed):
    g = torch.Generator().manual_seed(seed)
    rows = CELLS[cell].gates * NH
    return [(torch.rand(*shape, generator=g, dtype=torch.float64) * 2 - 1).mul_(scale).requires_grad_()
            for shape, scale in [((rows, NH), 0.8), ((rows, NV), 1.0), ((rows, 1), 0.5)]]


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("padded", [False, True])
@pytest.mark.parametrize("with_h0", [False, True])
def test_forward_and_backward_equal_autograd(cell, padded, with_h0):
    W, U, b = random_weights(cell, seed=len(cell))
    g = torch.Generator().manual_seed(1)
    codes = torch.randint(0, NV, (T, B), generator=g)
    mask = torch.arange(T)[:, None] >= (T - LENGTHS)[None, :] if padded else None
    h0 = torch.rand(B, NH, generator=g, dtype=torch.float64).requires_grad_() if with_h0 else None
    H = reference(cell, W, U, b, codes, mask, h0)
    dH = torch.rand(H.shape, generator=g, dtype=torch.float64) - 0.5     # a loss reading every h_t
    (H * dH).sum().backward()
    with torch.no_grad():
        trace = forward(CELLS[cell], W, U, b, codes, mask, None if h0 is None else h0.detach())
        grads = backward(trace, W, NV, dH)
    torch.testing.assert_close(trace.H, H.detach(), rtol=1e-12, atol=1e-12)
    for ours, theirs in [(grads.W, W.grad), (grads.U, U.grad), (grads.b, b.grad)]:
        torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-12)
    if with_h0:
        torch.testing.assert_close(grads.h0, h0.grad, rtol=1e-10, atol=1e-12)
    else:
        assert grads.h0 is None


def test_backward_keeps_every_step_back_when_asked():
    W, U, b = (M.detach() for M in random_weights("tanh", 3))
    codes = torch.randint(0, NV, (T, 1), generator=torch.Generator().manual_seed(2))
    trace = forward(CELLS["tanh"], W, U, b, codes)
    dH = torch.zeros_like(trace.H)
    dH[-1] = 1.0
    back = backward(trace, W, NV, dH, steps=True)
    # dL/dh_{t-1} = (dL/dh_t * (1 - h_t^2)) @ W, step after step
    dh = dH[-1]
    for t in range(T, 0, -1):
        torch.testing.assert_close(back.dh[t], dh)
        dh = (dh * (1 - trace.H[t] ** 2)) @ W
    torch.testing.assert_close(back.dh[0], dh)


def copy_into(rnn: RNN, module):
    with torch.no_grad():
        module.weight_hh_l0.copy_(rnn.W)
        module.weight_ih_l0.copy_(rnn.U)
        module.bias_ih_l0.copy_(rnn.b[:, 0])
        module.bias_hh_l0.zero_()              # ours has one bias per block: PyTorch's second one is zero


@pytest.mark.parametrize("cell", ["tanh", "relu", "gru"])
def test_forward_equals_torch_nn_on_padded_words(cell):
    """nn.RNN and nn.GRU with our W, U, b: the same h_t at every step, the same last h of padded words."""
    rnn = RNN(NV, NH, 3, cell=cell, seed=4, dtype="float64")
    rnn.b.uniform_(-0.5, 0.5, generator=torch.Generator().manual_seed(4))
    module = (nn.GRU(NV, NH) if cell == "gru" else nn.RNN(NV, NH, nonlinearity=cell)).double()
    copy_into(rnn, module)
    words = [torch.randint(0, NV, (int(n),), generator=torch.Generator().manual_seed(int(n))) for n in LENGTHS]
    mask = torch.arange(T)[:, None] >= (T - LENGTHS)[None, :]
    codes = torch.stack([F.pad(w, (T - len(w), 0)) for w in words], dim=1)
    ours = rnn.forward(codes, mask).H[-1]
    packed = nn.utils.rnn.pack_sequence([F.one_hot(w, NV).double() for w in words], enforce_sorted=False)
    with torch.no_grad():
        _, theirs = module(packed)
        every_step, _ = module(F.one_hot(codes[:, :1], NV).double())
    torch.testing.assert_close(ours, theirs[0], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(rnn.forward(codes[:, :1]).H[1:], every_step, rtol=1e-12, atol=1e-12)


def test_gru_gradients_equal_torch_nn_gru():
    rnn = RNN(NV, NH, 3, cell="gru", seed=5, dtype="float64")
    module = nn.GRU(NV, NH).double()
    copy_into(rnn, module)
    codes = torch.randint(0, NV, (T, B), generator=torch.Generator().manual_seed(5))
    out, _ = module(F.one_hot(codes, NV).double())
    dH = torch.rand(T + 1, B, NH, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    (out * dH[1:]).sum().backward()
    rnn.backward(rnn.forward(codes), dH)
    torch.testing.assert_close(rnn.grads["W"], module.weight_hh_l0.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(rnn.grads["U"], module.weight_ih_l0.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(rnn.grads["b"][:, 0], module.bias_ih_l0.grad, rtol=1e-10, atol=1e-12)


def test_float32_follows_float64():
    """The same model in float32 gives the float64 h to float32 precision (no path of its own)."""
    wide, narrow = RNN(NV, 8, 3, "gru", seed=7, dtype="float64"), RNN(NV, 8, 3, "gru", seed=7)
    codes = torch.randint(0, NV, (12, 3), generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(narrow.forward(codes).H.double(), wide.forward(codes).H, rtol=0, atol=1e-5)


def test_one_loop_over_time_each():
    """rnnlib runs the recurrence over time in rnn.forward and its gradient in bptt.backward, nowhere else."""
    import pathlib
    import re

    import rnnlib
    loops = []
    for path in pathlib.Path(rnnlib.__file__).parent.rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"for t in range|cell\.step\(|cell\.back\(", line):
                loops.append(f"{path.name}:{line.strip()}")
    assert sorted(loops) == sorted([
        "rnn.py:for t in range(T):",
        "rnn.py:saved.append(cell.step(Uxs[t], Hs[t], WT, Hs[t + 1]))",
        "bptt.py:for t in range(T, 0, -1):",
        "bptt.py:direct = cell.back(dh, kept[t - 1], Hs[t - 1], dUxs[t - 1], dWhs[t - 1])",
    ]), loops
