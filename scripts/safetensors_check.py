#!/usr/bin/env python3
"""Cross-checks gradguard's safetensors files against the real `safetensors` package and PyTorch.

Needs the venv of scripts/pyenv.sh (torch, safetensors). Prints one JSON object on standard output.

  safetensors_check.py write FILE
      Writes FILE with safetensors.torch.save_file: tensors of several dtypes and shapes (a scalar, an
      empty tensor, non-finite floats) and metadata. Prints {"metadata": {...}, "tensors": {NAME: {"dtype",
      "shape", "values"}}}: values flattened row-major as Python numbers (exact for every dtype written).

  safetensors_check.py load FILE MODEL
      Loads FILE with safetensors.torch.load_file into the nn.Module equal to gradguard's model MODEL and
      load_state_dict(strict=True). MODEL is rnn|lstm|gru:INPUT:HIDDEN:OUTPUTS (model.RecurrentNet) or
      charlm:VOCABULARY:EMBEDDING:HIDDEN (model.CharLstm). Prints {"metadata": ..., "names": [...],
      "param_checksum": SHA-256 of the float32 parameters in named_parameters() order, "dtypes": [...]}.
"""
import hashlib
import json
import math
import sys

import torch
from torch import nn
from safetensors import safe_open
from safetensors.torch import load_file, save_file


class RecurrentNet(nn.Module):
    """gradguard's model.RecurrentNet: a recurrent layer read out at the last step by a linear head."""

    def __init__(self, cell, inputs, hidden, outputs):
        super().__init__()
        self.rnn = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell](inputs, hidden)
        self.head = nn.Linear(hidden, outputs)

    def forward(self, x):
        states, _ = self.rnn(x)
        return self.head(states[-1])


class CharLstm(nn.Module):
    """gradguard's model.CharLstm: embedding, LSTM, linear head over the vocabulary."""

    def __init__(self, vocabulary, embedding, hidden):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary, embedding)
        self.lstm = nn.LSTM(embedding, hidden)
        self.head = nn.Linear(hidden, vocabulary)

    def forward(self, tokens):
        return self.head(self.lstm(self.embedding(tokens))[0])


def model_of(spec):
    kind, *sizes = spec.split(":")
    sizes = [int(s) for s in sizes]
    if kind == "charlm":
        return CharLstm(*sizes)
    return RecurrentNet(kind, *sizes)


def number(x):
    if isinstance(x, float) and not math.isfinite(x):
        return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")
    return x


def write(path):
    g = torch.Generator().manual_seed(7)
    tensors = {
        "weight": torch.randn(3, 4, generator=g),
        "nonfinite": torch.tensor([1.5, float("nan"), float("inf"), -float("inf"), -0.0]),
        "scalar": torch.tensor(2.25, dtype=torch.float64),
        "empty": torch.zeros(0, 3),
        "half": torch.randn(5, generator=g).half(),
        "bf16": torch.randn(2, 3, generator=g).bfloat16(),
        "ids": torch.tensor([[-3, 0, 2**40]], dtype=torch.int64),
        "int32": torch.tensor([7, -8, 9], dtype=torch.int32),
        "bytes": torch.tensor([0, 255, 17], dtype=torch.uint8),
        "mask": torch.tensor([True, False, True]),
    }
    metadata = {"format": "pt", "note": "written by safetensors.torch.save_file"}
    save_file(tensors, path, metadata=metadata)
    with safe_open(path, "pt") as f:
        dtypes = {name: f.get_slice(name).get_dtype() for name in f.keys()}
    out = {name: {"dtype": dtypes[name], "shape": list(t.shape),
                  "values": [number(v) for v in (t.double() if t.is_floating_point() else t).flatten().tolist()]}
           for name, t in tensors.items()}
    print(json.dumps({"metadata": metadata, "tensors": out}))


def load(path, spec):
    model = model_of(spec)
    state = load_file(path)
    model.load_state_dict(state, strict=True)
    sha = hashlib.sha256()
    for _, p in model.named_parameters():
        sha.update(p.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes())
    with safe_open(path, "pt") as f:
        metadata = f.metadata()
    print(json.dumps({"metadata": metadata, "names": [n for n, _ in model.named_parameters()],
                      "dtypes": [str(p.dtype) for _, p in model.named_parameters()],
                      "param_checksum": sha.hexdigest()}))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        write(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "load":
        load(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
