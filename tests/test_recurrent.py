"""The recurrent ensembles against torch.nn's own LSTM and GRU and the paper's RNN equations."""

from __future__ import annotations

import torch
from torch import nn

from disentangle.models.recurrent import GRU, LSTM, LeakyRNN, NonLeakyRNN
from disentangle.seeding import generator


def test_lstm_matches_torch():
    members = [LSTM.init_member(41, 16, generator("t", s)) for s in range(2)]
    model = LSTM.from_members(members)
    u = torch.randn(2, 3, 22, 41)
    out = model(u)
    for k, m in enumerate(members):
        ref = nn.LSTM(41, 16, batch_first=True)
        with torch.no_grad():
            ref.weight_ih_l0.copy_(m["w_in"].T)
            ref.weight_hh_l0.copy_(m["w_rec"].T)
            ref.bias_ih_l0.copy_(m["bias"])
            ref.bias_hh_l0.zero_()
        expected, _ = ref(u[k])
        assert torch.allclose(out[k], expected, atol=1e-5)


def test_gru_matches_torch():
    members = [GRU.init_member(41, 16, generator("t", s)) for s in range(2)]
    model = GRU.from_members(members)
    u = torch.randn(2, 3, 22, 41)
    out = model(u)
    for k, m in enumerate(members):
        ref = nn.GRU(41, 16, batch_first=True)
        with torch.no_grad():
            ref.weight_ih_l0.copy_(m["w_in"].T)
            ref.weight_hh_l0.copy_(m["w_rec"].T)
            ref.bias_ih_l0.copy_(m["bias"])
            ref.bias_hh_l0.copy_(m["bias_rec"])
        expected, _ = ref(u[k])
        assert torch.allclose(out[k], expected, atol=1e-5)


def test_lstm_and_gru_init_like_torch():
    for cls, gates in ((LSTM, 4), (GRU, 3)):
        m = cls.init_member(41, 64, generator("t", 0))
        assert m["w_in"].shape == (41, gates * 64) and m["w_rec"].shape == (64, gates * 64)
        assert m["w_in"].abs().max() <= 64**-0.5 and m["w_rec"].abs().max() <= 64**-0.5


def test_nonleaky_rnn_integrates():
    """r_t = r_{t−1} + ReLU(h_t): rates never decrease, and equal the running sum of the
    rectified drive."""
    members = [NonLeakyRNN.init_member(5, 8, generator("t", 0))]
    model = NonLeakyRNN.from_members(members)
    u = torch.randn(1, 4, 10, 5)
    out = model(u)[0]
    assert torch.all(out[:, 1:] >= out[:, :-1])
    m = members[0]
    r = torch.zeros(4, 8)
    for t in range(10):
        r = r + torch.relu(u[0, :, t] @ m["w_in"] + r @ m["w_rec"] + m["bias"])
        assert torch.allclose(out[:, t], r, atol=1e-5)
    # same weights in a leaky RNN give different (bounded-by-ReLU, not integrated) states
    assert not torch.allclose(LeakyRNN.from_members(members)(u)[0], out)
