"""Ensembles of small networks with a leading member axis K (one set of weights per network).

An architecture is a class registered in ``ARCHITECTURES`` with
- ``init_member(input_size, hidden_size, g) -> dict[str, Tensor]``: one network's initial weights,
  drawn only from its own generator ``g`` (so a member is the same alone or in an ensemble);
- ``from_members(members)``: stack members into one ``nn.Module``;
- ``forward(u)``: inputs (K, B, T, I) → hidden states (K, B, T, H) that the read-out and the
  metrics use; ``n_members`` and ``hidden_size`` properties;
- optionally ``last_state(u)`` → (K, B, H), the last step's state alone, where that is cheaper
  than ``forward`` (GPT-2); the metrics use it when it is there.
Adding an architecture = one module here + one registry entry + its name in the config schema.
"""

from disentangle.models.gpt2 import GPT2
from disentangle.models.readout import Readout
from disentangle.models.recurrent import GRU, LSTM, LeakyRNN, NonLeakyRNN

ARCHITECTURES = {
    "leaky_rnn": LeakyRNN,
    "nonleaky_rnn": NonLeakyRNN,
    "lstm": LSTM,
    "gru": GRU,
    "gpt2": GPT2,
}


def architecture(name: str):
    """The ensemble class registered as ``name``; raises a ValueError naming the choices."""
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise ValueError(
            f"architecture {name!r}: expected one of {sorted(ARCHITECTURES)}"
        ) from None


__all__ = [
    "ARCHITECTURES",
    "GPT2",
    "GRU",
    "LSTM",
    "LeakyRNN",
    "NonLeakyRNN",
    "Readout",
    "architecture",
]
