#!/usr/bin/env python3
"""Golden values for gradguard's own optimizers (read by FusedOptimizerGoldenTest).

Writes gradguard-core/src/test/resources/golden/optimizer_golden.json: three parameters stepped four times by
torch.optim.SGD, Adam and AdamW in several configurations, each run twice, with fused=True (PyTorch's
multi-tensor CPU kernels, the ones gradguard calls) and with PyTorch's default implementation. The
learning rate changes every step (as a schedule does), and the gradients follow GRAD_PATTERN: a parameter
whose gradient is None in a step is skipped by the optimizer (zero_grad(set_to_none=True)), so parameter
"c" first gets optimizer state in step 1 and the others carry state across steps they miss. Every initial
value, gradient and learning rate is written out ("fused" is null where PyTorch's fused kernel cannot run the
case), with the parameters after every step and the optimizer
state after the last, as float32 values.

Needs real PyTorch (scripts/pyenv.sh makes the venv):
    $HOME/.cache/gradguard/pyenv/bin/python scripts/golden/optimizer_golden.py
"""

import json
import math
import pathlib

import torch

OUT = pathlib.Path(__file__).resolve().parents[2] / "gradguard-core/src/test/resources/golden/optimizer_golden.json"
SHAPES = {"a": [3, 4], "b": [5], "c": [2, 3]}
# which parameters get a gradient in each step
GRAD_PATTERN = [["a", "b"], ["a", "c"], ["a", "b", "c"], ["b", "c"]]
LRS = [1.0, 0.5, 0.8, 0.25]  # multiplied by each configuration's lr

CONFIGS = [
    ("sgd", dict(lr=0.1)),
    ("sgd", dict(lr=0.1, weight_decay=0.05)),
    ("sgd", dict(lr=0.1, momentum=0.9)),
    ("sgd", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.05)),
    ("sgd", dict(lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.05)),
    ("adam", dict(lr=0.01)),
    ("adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("adamw", dict(lr=0.01)),
    ("adamw", dict(lr=0.01, betas=(0.85, 0.95), eps=1e-7, weight_decay=0.2)),
]
CLASSES = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}


def values(shape, phase, scale):
    n = math.prod(shape)
    return [float(torch.tensor(scale * math.sin(phase + 1.3 * i), dtype=torch.float32)) for i in range(n)]


def flat(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def run(name, options, fused, initial, grads):
    params = {k: torch.tensor(initial[k], dtype=torch.float32).reshape(SHAPES[k]).requires_grad_() for k in SHAPES}
    opt = CLASSES[name](list(params.values()), fused=fused, **options)
    after = []
    for step, pattern in enumerate(GRAD_PATTERN):
        opt.zero_grad(set_to_none=True)
        for k in pattern:
            params[k].grad = torch.tensor(grads[step][k], dtype=torch.float32).reshape(SHAPES[k])
        for group in opt.param_groups:
            group["lr"] = options["lr"] * LRS[step]
        opt.step()
        after.append({k: flat(p) for k, p in params.items()})
    state = {}
    for k, p in params.items():
        if p in opt.state:
            state[k] = {s: (flat(v) if v.dim() > 0 else [float(v)]) for s, v in opt.state[p].items()}
    return {"params_after_step": after, "state": state}


def fused_or_none(name, options, initial, grads):
    """PyTorch 2.13's fused SGD fails ("expected Tensor as element 1") when a parameter first gets a momentum
    buffer after the first step: only its default implementation defines that case (the buffer starts as the
    gradient, as gradguard's does)."""
    try:
        return run(name, options, True, initial, grads)
    except TypeError:
        return None


def main():
    initial = {k: values(s, 0.4 + i, 1.0) for i, (k, s) in enumerate(SHAPES.items())}
    grads = [{k: values(SHAPES[k], 7.0 + 3 * step + i, 0.5 + step) for i, k in enumerate(pattern)}
             for step, pattern in enumerate(GRAD_PATTERN)]
    cases = []
    for name, options in CONFIGS:
        cases.append({
            "optimizer": name,
            "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in options.items()},
            "fused": fused_or_none(name, options, initial, grads),
            "default": run(name, options, False, initial, grads),
        })
    doc = {
        "reference": f"torch {torch.__version__}",
        "shapes": SHAPES, "grad_pattern": GRAD_PATTERN, "lr_factors": LRS,
        "initial": initial, "grads": grads, "cases": cases,
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
