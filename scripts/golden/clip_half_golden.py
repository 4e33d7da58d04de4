#!/usr/bin/env python3
"""Golden values for ClipGrad's half/bfloat16 deviation (read by ClipGradHalfPrecisionTest).

Writes gradguard-core/src/test/resources/golden/clip_half_golden.json with PyTorch's own
torch.nn.utils.clip_grad_norm_ on float16 and bfloat16 gradients: the total norm PyTorch returns, its
dtype, the clipped gradients, and the float64 norm of the same gradients. PyTorch accumulates each
norm in float32 but returns it (and computes the coefficient) in the gradient's dtype; ClipGrad keeps
the norm in float32, and the test checks both facts against this file.

Needs real PyTorch (no model fallback):
    $HOME/.cache/gradguard/pyenv/bin/python scripts/golden/clip_half_golden.py
Then run: mvn -B -q verify -pl gradguard-core -am -Dtest='ClipGradHalfPrecisionTest'
"""

import json
import math
import pathlib
import sys

import torch

OUT = pathlib.Path(__file__).resolve().parents[2] / "gradguard-core/src/test/resources/golden/clip_half_golden.json"
DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16}


def cases():
    gen = torch.Generator().manual_seed(20250602)
    out = []
    for name in DTYPES:
        grads = [torch.randn(shape, generator=gen, dtype=torch.float64) for shape in ((7,), (3, 5), ())]
        out.append((f"{name}: random gradients, clipping needed", name, [g.tolist() for g in grads], 0.5))
        # 300^2 * 4 = 360000 overflows float16, the norm 600 does not: PyTorch accumulates in float32
        out.append((f"{name}: sum g^2 beyond float16's range, norm 600 within it", name,
                    [[300.0, -300.0], [300.0, 300.0]], 1.0))
    # a norm of 120000 is beyond float16's largest value 65504
    out.append(("float16: total norm beyond float16's range", "float16", [[60000.0, -60000.0], [60000.0, 60000.0]],
                1.0))
    return out


def run(name, dtype_name, grads, max_norm):
    dtype = DTYPES[dtype_name]
    params = []
    for g in grads:
        value = torch.tensor(g, dtype=dtype)
        p = torch.zeros(value.shape, dtype=dtype, requires_grad=True)
        p.grad = value.clone()
        params.append(p)
    exact = [p.grad.double().ravel().tolist() for p in params]  # the gradients as rounded to dtype
    reference = math.sqrt(sum(x * x for g in exact for x in g))
    total = torch.nn.utils.clip_grad_norm_(params, max_norm, 2.0)

    def enc(x):
        return "inf" if math.isinf(x) else "nan" if math.isnan(x) else x

    return {"name": name, "dtype": dtype_name, "max_norm": max_norm,
            "params": [{"shape": list(p.shape), "grad": g} for p, g in zip(params, exact)],
            "float64_norm": reference,
            "torch_norm": enc(float(total)), "torch_norm_dtype": str(total.dtype).replace("torch.", ""),
            "torch_grads": [[enc(x) for x in p.grad.double().ravel().tolist()] for p in params]}


def main():
    doc = {"reference": f"torch {torch.__version__}", "generator": "scripts/golden/clip_half_golden.py",
           "cases": [run(*c) for c in cases()]}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
    print(f"wrote {len(doc['cases'])} cases to {OUT} ({doc['reference']})", file=sys.stderr)


if __name__ == "__main__":
    main()
