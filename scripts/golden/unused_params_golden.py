#!/usr/bin/env python3
"""Golden values for parameters that receive no gradient in a step (read by UnusedParametersTest).

Writes gradguard-core/src/test/resources/golden/unused_params_golden.json: a model with a conditional
branch, out = a(x) + (b(x) if the batch's flag is set), trained by PyTorch with the default
zero_grad(set_to_none=True), so that b's parameters have grad None on the steps that skip the branch and
every optimizer leaves them untouched (weight decay, momentum and Adam's step count included). The flag is
the last column of the input; the model reads it from the first row. Every input, target and initial
weight is written out, with the parameters after each step, for SGD (momentum 0.9, weight decay 0.1) and
AdamW (weight decay 0.1), both at lr 0.1.

Needs real PyTorch:
    $HOME/.cache/gradguard/pyenv/bin/python scripts/golden/unused_params_golden.py
Then run: mvn -B -q verify -pl gradguard-core -am -Dtest='UnusedParametersTest'
"""

import json
import math
import pathlib

import torch

OUT = pathlib.Path(__file__).resolve().parents[2] / "gradguard-core/src/test/resources/golden/unused_params_golden.json"
# b is used on steps 1 and 4 only: unused before it has any optimizer state, and unused after it has some
USE_B = [False, True, False, False, True, False]


class Branchy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(3, 2)
        self.b = torch.nn.Linear(3, 2)

    def forward(self, x):
        features = x[:, :3]
        out = self.a(features)
        if x[0, 3].item() != 0:
            out = out + self.b(features)
        return out


def values(n, phase):
    """Deterministic float32-representable values in [-1, 1]."""
    return [round(math.sin(phase + 1.7 * i), 4) for i in range(n)]


def initial():
    return {
        "a.weight": values(6, 0.3), "a.bias": values(2, 1.1),
        "b.weight": values(6, 2.9), "b.bias": values(2, 4.4),
    }


def batches():
    out = []
    for step, use_b in enumerate(USE_B):
        x = values(12, 10.0 + step)
        rows = [x[3 * r:3 * r + 3] + [1.0 if use_b else 0.0] for r in range(4)]
        target = values(8, 20.0 + 3 * step)
        out.append({"input": rows, "target": [target[2 * r:2 * r + 2] for r in range(4)]})
    return out


def train(make_optimizer, data):
    model = Branchy()
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(initial()[name], dtype=torch.float32).view_as(p))
    optimizer = make_optimizer(model.parameters())
    after = []
    for batch in data:
        optimizer.zero_grad()  # set_to_none=True: unused parameters keep grad None
        x = torch.tensor(batch["input"], dtype=torch.float32)
        y = torch.tensor(batch["target"], dtype=torch.float32)
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        after.append({name: p.detach().reshape(-1).tolist() for name, p in model.named_parameters()})
    return after


def main():
    data = batches()
    golden = {
        "reference": "torch " + torch.__version__,
        "lr": 0.1,
        "weight_decay": 0.1,
        "momentum": 0.9,
        "use_b": USE_B,
        "initial": initial(),
        "batches": data,
        "sgd": train(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1), data),
        "adamw": train(lambda ps: torch.optim.AdamW(ps, lr=0.1, weight_decay=0.1), data),
    }
    OUT.write_text(json.dumps(golden, indent=1) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
