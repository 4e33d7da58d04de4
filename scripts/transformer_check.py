#!/usr/bin/env python3
"""The PyTorch equivalents of gradguard's Transformers, and a forward/backward cross-check against them.

Needs the venv of scripts/pyenv.sh (torch, safetensors).

  transformer_check.py MODEL WEIGHTS INPUTS OUT
      MODEL is char:VOCABULARY:MAX_LENGTH:WIDTH:LAYERS:HEADS (model.CharTransformer) or
      encoder:FEATURES:MAX_LENGTH:WIDTH:LAYERS:HEADS:OUTPUTS (model.TransformerEncoderNet). Loads WEIGHTS
      (safetensors) into it with load_state_dict(strict=True), reads the tensors "input" and "target" from
      INPUTS, runs forward, the loss (cross-entropy for int64 targets, over every step for MODEL char; else
      the mean squared error) and backward, and writes OUT (safetensors): "output", "loss" and
      "grad.<parameter name>" for every parameter. Prints {"names": named_parameters() names in order,
      "param_checksum": SHA-256 of the float32 parameters in that order, "loss": the loss}.
"""
import hashlib
import json
import sys

import torch
import torch.nn.functional as F
from torch import nn
from safetensors.torch import load_file, save_file


class Mlp(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc = nn.Linear(width, 4 * width)
        self.proj = nn.Linear(4 * width, width)

    def forward(self, x):
        return self.proj(F.gelu(self.fc(x)))


class Block(nn.Module):
    """A pre-LayerNorm block (GPT-2): x + attn(ln_1(x)), then x + mlp(ln_2(x)); time-major [T, B, width]."""

    def __init__(self, width, heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = Mlp(width)

    def forward(self, x, mask):
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class CharTransformer(nn.Module):
    """gradguard's model.CharTransformer: causal GPT over [T, B] token ids, head tied to the token embedding."""

    def __init__(self, vocabulary, max_length, width, layers, heads):
        super().__init__()
        self.token_embedding = nn.Embedding(vocabulary, width)
        self.position_embedding = nn.Embedding(max_length, width)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(width)

    def forward(self, tokens):
        time = tokens.shape[0]
        x = self.token_embedding(tokens) + self.position_embedding(torch.arange(time)).unsqueeze(1)
        mask = nn.Transformer.generate_square_subsequent_mask(time)
        for block in self.blocks:
            x = block(x, mask)
        return F.linear(self.ln_f(x), self.token_embedding.weight)


class TransformerEncoderNet(nn.Module):
    """gradguard's model.TransformerEncoderNet: [T, B, features] -> [B, outputs], head on the last position."""

    def __init__(self, features, max_length, width, layers, heads, outputs):
        super().__init__()
        self.input = nn.Linear(features, width)
        self.position_embedding = nn.Embedding(max_length, width)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(width)
        self.head = nn.Linear(width, outputs)

    def forward(self, sequence):
        time = sequence.shape[0]
        x = self.input(sequence) + self.position_embedding(torch.arange(time)).unsqueeze(1)
        for block in self.blocks:
            x = block(x, None)
        return self.head(self.ln_f(x)[-1])


def model_of(spec):
    kind, *sizes = spec.split(":")
    sizes = [int(s) for s in sizes]
    return {"char": CharTransformer, "encoder": TransformerEncoderNet}[kind](*sizes)


def check(spec, weights, inputs, out):
    model = model_of(spec)
    model.load_state_dict(load_file(weights), strict=True)
    model.train()
    data = load_file(inputs)
    output = model(data["input"])
    target = data["target"]
    if target.dtype == torch.int64:
        loss = F.cross_entropy(output.reshape(-1, output.shape[-1]), target.reshape(-1))
    else:
        loss = F.mse_loss(output, target)
    loss.backward()
    results = {"output": output.detach().contiguous(), "loss": loss.detach()}
    sha = hashlib.sha256()
    names = []
    for name, p in model.named_parameters():
        names.append(name)
        sha.update(p.detach().float().contiguous().numpy().tobytes())
        results["grad." + name] = p.grad.contiguous()
    save_file(results, out)
    print(json.dumps({"names": names, "param_checksum": sha.hexdigest(), "loss": loss.item()}))


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    check(*sys.argv[1:])
