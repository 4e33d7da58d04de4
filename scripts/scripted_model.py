#!/usr/bin/env python3
"""Writes a TorchScript classifier for `gradguard train --model-file`, as a PyTorch user saves one.

Needs the venv of scripts/pyenv.sh (torch). Prints one JSON object on standard output.

  scripted_model.py save FILE [--inputs N] [--hidden N] [--outputs N] [--dropout P] [--batch B]
                           [--length T] [--seed S]
      Saves torch.jit.script(GruClassifier(...)) to FILE with torch.jit.save. The model takes a batch-first
      float32 input [B, T, inputs] and returns logits [B, outputs]: a GRU (batch_first=True), a linear head on
      the last step's hidden state after dropout (probability P, default 0), and an output bias registered on
      the root module after its submodules (so parameter order across the module tree is exercised).
      Defaults: 6 inputs, 32 hidden, 4 outputs, the contract of gradguard's temporal-order task.

      The reference it prints is computed by PyTorch on the saved module in train mode (meaningful with no
      dropout) for the input x = linspace(-1, 1, B*T*inputs).reshape(B, T, inputs): {"names": named_parameters() names,
      "shapes": their shapes, "output": forward(x) flattened, "grads": {name: gradient of
      forward(x).square().sum() flattened}}.

  scripted_model.py save-tied FILE
      Saves a scripted model with tied weights: an embedding of 10 tokens in 4 dimensions whose weight is also
      the output layer's. Prints {"names": named_parameters() names}, where PyTorch lists the shared tensor once.

  scripted_model.py load-weights FILE WEIGHTS
      Loads the TorchScript module FILE and load_state_dict(safetensors.torch.load_file(WEIGHTS), strict=True),
      as a user takes `gradguard export`'s weights back. Prints {"names": named_parameters() names,
      "param_checksum": SHA-256 of the float32 parameters in that order, gradguard's param_checksum}.
"""
import argparse
import hashlib
import json

import torch
from torch import nn


class GruClassifier(nn.Module):
    def __init__(self, inputs: int, hidden: int, outputs: int, dropout: float):
        super().__init__()
        self.rnn = nn.GRU(inputs, hidden, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, outputs)
        self.bias = nn.Parameter(torch.zeros(outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states, _ = self.rnn(x)
        return self.head(self.dropout(states[:, -1])) + self.bias


class TiedLanguageModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(10, 4)
        self.out = nn.Linear(4, 10, bias=False)
        self.out.weight = self.embedding.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.out(self.embedding(tokens))


def save_tied(args):
    torch.jit.save(torch.jit.script(TiedLanguageModel()), args.file)
    return {"names": [n for n, _ in torch.jit.load(args.file).named_parameters()]}


def save(args):
    torch.manual_seed(args.seed)
    torch.jit.save(torch.jit.script(GruClassifier(args.inputs, args.hidden, args.outputs, args.dropout)), args.file)

    module = torch.jit.load(args.file)
    module.train()
    x = torch.linspace(-1, 1, args.batch * args.length * args.inputs).reshape(args.batch, args.length, args.inputs)
    out = module(x)
    out.square().sum().backward()
    named = list(module.named_parameters())
    return {
        "names": [n for n, _ in named],
        "shapes": [list(p.shape) for _, p in named],
        "output": out.detach().flatten().tolist(),
        "grads": {n: p.grad.flatten().tolist() for n, p in named},
    }


def load_weights(args):
    from safetensors.torch import load_file

    module = torch.jit.load(args.file)
    module.load_state_dict(load_file(args.weights), strict=True)
    sha = hashlib.sha256()
    names = []
    for name, p in module.named_parameters():
        names.append(name)
        sha.update(p.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes())
    return {"names": names, "param_checksum": sha.hexdigest()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    s = commands.add_parser("save")
    s.add_argument("file")
    s.add_argument("--inputs", type=int, default=6)
    s.add_argument("--hidden", type=int, default=32)
    s.add_argument("--outputs", type=int, default=4)
    s.add_argument("--dropout", type=float, default=0.0)
    s.add_argument("--batch", type=int, default=3)
    s.add_argument("--length", type=int, default=5)
    s.add_argument("--seed", type=int, default=0)
    t = commands.add_parser("save-tied")
    t.add_argument("file")
    w = commands.add_parser("load-weights")
    w.add_argument("file")
    w.add_argument("weights")
    args = parser.parse_args()
    run = {"save": save, "save-tied": save_tied, "load-weights": load_weights}[args.command]
    print(json.dumps(run(args)))


if __name__ == "__main__":
    main()
