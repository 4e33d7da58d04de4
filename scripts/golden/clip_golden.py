#!/usr/bin/env python3
"""Golden values for dev.gradguard.clip.ClipGrad (read by ClipGradGoldenTest).

Writes src/test/resources/golden/clip_golden.json: deterministic cases (every input array is written out
in the JSON) and the outputs of PyTorch's torch.nn.utils.clip_grad_norm_, get_total_norm,
clip_grads_with_norm_ and clip_grad_value_ (PyTorch 2.6+ semantics).

Reference used, recorded as "reference" in the JSON:
  * real PyTorch when `import torch` works ("torch <version>");
  * otherwise a float64 numpy model of PyTorch's documented semantics
    ("numpy <version> float64 model of torch semantics"), for editing cases only: ClipGradGoldenTest
    accepts only a file made by torch. The model computes in float64 but reproduces
    one float32 effect that changes results: torch accumulates sum(|g|^p) in the gradient's dtype, so a
    float32 gradient whose sum overflows float32 has an infinite norm.

Regenerate (from the repository root):
    python3 scripts/golden/clip_golden.py                 # numpy model, or torch if importable
    pip install 'torch>=2.6' && python3 scripts/golden/clip_golden.py   # with real PyTorch
    sudo scripts/golden/with-torch.sh                     # real PyTorch from Debian 13, no pip needed
    python3 scripts/golden/clip_golden.py --numpy         # force the numpy model
Then run: mvn -B -q test -Dtest='ClipGradGolden*'

Cases avoid what ClipGrad deliberately does differently from PyTorch (documented in ClipGrad's Javadoc):
no parameter is listed twice and there are no half/bfloat16 gradients (clip_half_golden.py covers those).
An empty gradient with the inf norm is an error in PyTorch; such a case records "raises": "empty", and
ClipGrad must refuse it too.

Non-finite numbers are written as the strings "nan", "inf" and "-inf" so the file stays standard JSON.
"""

import argparse
import json
import math
import pathlib
import sys

import numpy as np

EPS = 1e-6
INF = math.inf
OUT = pathlib.Path(__file__).resolve().parents[2] / "gradguard-core/src/test/resources/golden/clip_golden.json"
RNG = np.random.default_rng(20250601)


# ---------------------------------------------------------------- case construction

def values(shape, dtype, scale=1.0):
    """Random values of `shape`, rounded to `dtype` so that the JSON holds them exactly."""
    v = RNG.normal(size=shape) * scale
    return v.astype(dtype).astype(np.float64)


def param(shape, dtype="float32", grad="random", scale=1.0):
    """A parameter spec; grad is "random", None (no gradient) or an explicit list of values."""
    if grad == "random":
        grad = values(shape, dtype, scale).ravel().tolist()
    elif grad is not None:
        grad = np.asarray(grad, dtype=dtype).astype(np.float64).ravel().tolist()
    return {"shape": list(shape), "dtype": dtype, "grad": grad}


def norm_case(name, params, max_norm, norm_type, error_if_nonfinite=False):
    return {"name": name, "op": "clip_grad_norm", "params": params, "max_norm": max_norm,
            "norm_type": norm_type, "error_if_nonfinite": error_if_nonfinite}


def cases():
    out = []
    standard = lambda dtype: [param([3], dtype), param([2, 2], dtype), param([], dtype),
                              param([4], dtype, grad=None)]
    for dtype in ("float32", "float64"):
        for p in (1.0, 2.0, 3.0, INF):
            out.append(norm_case(f"{dtype} p={p} clip needed", standard(dtype), 0.5, p))
            out.append(norm_case(f"{dtype} p={p} clip not needed", standard(dtype), 100.0, p))
    out.append(norm_case("mixed float32 and float64 gradients",
                         [param([3], "float32"), param([2], "float64")], 0.7, 2.0))
    out.append(norm_case("exactly representable: 3-4-5 triangle, p=2",
                         [param([2], grad=[3.0, -4.0])], 1.0, 2.0))
    out.append(norm_case("no gradients at all", [param([3], grad=None), param([2], grad=None)], 1.0, 2.0))
    out.append(norm_case("empty parameter list", [], 1.0, 2.0))
    out.append(norm_case("all-zero gradients", [param([3], grad=[0, 0, 0]), param([], grad=[0])], 1.0, 2.0))
    out.append(norm_case("maxNorm 0 zeroes the gradients", standard("float32"), 0.0, 2.0))
    out.append(norm_case("tiny maxNorm", standard("float64"), 1e-12, 2.0))
    out.append(norm_case("0-dim gradients only", [param([]), param([]), param([])], 0.1, 3.0))
    for p in (2.0, INF):
        out.append(norm_case(f"NaN entry makes every gradient NaN, p={p}",
                             [param([3], grad=[1.0, math.nan, 2.0]), param([2], grad=[0.5, -0.5])], 1.0, p))
        out.append(norm_case(f"inf entry: finite gradients become 0, inf ones NaN, p={p}",
                             [param([3], grad=[1.0, -INF, 2.0]), param([2], grad=[0.5, -0.5])], 1.0, p))
    out.append(norm_case("errorIfNonfinite with a NaN norm raises",
                         [param([2], grad=[1.0, math.nan])], 1.0, 2.0, True))
    out.append(norm_case("errorIfNonfinite with an inf norm raises, p=inf",
                         [param([2], grad=[INF, 1.0])], 1.0, INF, True))
    out.append(norm_case("errorIfNonfinite with a finite norm clips", standard("float32"), 0.5, 2.0, True))
    out.append(norm_case("float32 overflow of sum g^2 gives an inf norm, p=2",
                         [param([2], grad=[1e20, -1e20]), param([2], grad=[1.0, 2.0])], 1.0, 2.0))
    out.append(norm_case("float32 1e20 stays finite for p=1",
                         [param([2], grad=[1e20, -1e20]), param([2], grad=[1.0, 2.0])], 1.0, 1.0))
    out.append(norm_case("float64 huge values 1e30, p=2",
                         [param([3], "float64", scale=1e30), param([2], "float64")], 1.0, 2.0))
    out.append(norm_case("empty gradient with the inf norm raises",
                         [param([0]), param([3])], 0.5, INF))
    out.append(norm_case("empty gradient with p=2", [param([0]), param([2, 0]), param([3])], 0.5, 2.0))

    for p in (1.0, 2.0, 3.0, INF):
        out.append({"name": f"get_total_norm p={p}", "op": "get_total_norm", "norm_type": p,
                    "error_if_nonfinite": False, "params": [param([5]), param([2, 3]), param([])]})
    out.append({"name": "get_total_norm of no tensors", "op": "get_total_norm", "norm_type": 2.0,
                "error_if_nonfinite": False, "params": []})

    for total, max_norm in ((10.0, 1.0), (0.5, 1.0), (0.0, 1.0), (INF, 1.0), (math.nan, 1.0), (3.0, 0.0)):
        out.append({"name": f"clip_grads_with_norm total={total} maxNorm={max_norm}",
                    "op": "clip_grads_with_norm", "max_norm": max_norm, "total_norm": total,
                    "params": [param([3]), param([2, 2], "float64"), param([2], grad=None)]})

    for clip in (0.5, 0.0, 1e-3, INF):
        out.append({"name": f"clip_grad_value {clip}", "op": "clip_grad_value", "clip_value": clip,
                    "params": [param([4], scale=2.0), param([2, 2], "float64", scale=2.0), param([3], grad=None),
                               param([4], grad=[100.0, -100.0, 0.25, -0.25])]})
    out.append({"name": "clip_grad_value keeps NaN, clamps infinities", "op": "clip_grad_value",
                "clip_value": 1.0, "params": [param([4], grad=[math.nan, INF, -INF, -3.0])]})
    return out


# ---------------------------------------------------------------- numpy model of torch semantics

def model_vector_norm(a, p, dtype):
    """torch.linalg.vector_norm(a, p) with sum(|a|^p) overflowing as it does in `dtype`."""
    a = np.abs(np.asarray(a, dtype=np.float64))
    if a.size == 0:
        return 0.0
    if p == INF:
        return float(np.max(a))
    s = float(np.sum(a ** p))
    if s > np.finfo(dtype).max:
        s = INF
    return s ** (1.0 / p)


def model_total_norm(grads, dtypes, p):
    if not grads:
        return 0.0
    norms = [model_vector_norm(g, p, d) for g, d in zip(grads, dtypes)]
    result_dtype = "float64" if "float64" in dtypes else "float32"
    return model_vector_norm(norms, p, result_dtype)


def model_coef(max_norm, total):
    # Python evaluates max_norm / (total + 1e-6) as reciprocal(total + 1e-6) * max_norm
    coef = (1.0 / (total + EPS)) * max_norm
    return coef if math.isnan(coef) else min(coef, 1.0)


def run_model(case):
    params = case["params"]
    grads = [np.asarray(p["grad"], dtype=np.float64) if p["grad"] is not None else None for p in params]
    op = case["op"]
    if op == "clip_grad_value":
        v = case["clip_value"]
        return {"grads": [None if g is None else np.clip(g, -v, v) for g in grads]}
    with_grad = [(g, p["dtype"]) for g, p in zip(grads, params) if g is not None]
    if op == "clip_grads_with_norm":
        coef = model_coef(case["max_norm"], case["total_norm"])
        return {"grads": [None if g is None else g * coef for g in grads]}
    total = model_total_norm([g for g, _ in with_grad], [d for _, d in with_grad], case["norm_type"])
    if case["norm_type"] == INF and any(g.size == 0 for g, _ in with_grad):
        return {"raises": "empty", "grads": grads}
    if case["error_if_nonfinite"] and not math.isfinite(total):
        return {"raises": "non-finite", "grads": grads}
    if op == "get_total_norm":
        return {"total_norm": total}
    coef = model_coef(case["max_norm"], total)
    return {"total_norm": total, "grads": [None if g is None else g * coef for g in grads]}


# ---------------------------------------------------------------- real PyTorch

def run_torch(case, torch):
    from torch.nn.utils import clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm
    dtypes = {"float32": torch.float32, "float64": torch.float64}
    params = []
    for spec in case["params"]:
        t = torch.zeros(spec["shape"], dtype=dtypes[spec["dtype"]], requires_grad=True)
        if spec["grad"] is not None:
            t.grad = torch.tensor(spec["grad"], dtype=dtypes[spec["dtype"]]).reshape(spec["shape"])
        params.append(t)
    grads_of = lambda: [None if t.grad is None else t.grad.double().ravel().numpy() for t in params]
    op = case["op"]
    if op == "clip_grad_value":
        clip_grad_value_(params, case["clip_value"])
        return {"grads": grads_of()}
    if op == "clip_grads_with_norm":
        clip_grads_with_norm_(params, case["max_norm"], torch.tensor(case["total_norm"]))
        return {"grads": grads_of()}
    try:
        if op == "get_total_norm":
            total = get_total_norm([t.grad for t in params if t.grad is not None], case["norm_type"],
                                   case["error_if_nonfinite"])
            return {"total_norm": float(total)}
        total = clip_grad_norm_(params, case["max_norm"], case["norm_type"], case["error_if_nonfinite"])
    except RuntimeError as e:
        if "non-finite" in str(e):
            return {"raises": "non-finite", "grads": grads_of()}
        if "infinity norm on an empty tensor" in str(e) or "empty tensor" in str(e):
            return {"raises": "empty", "error": str(e).splitlines()[0], "grads": grads_of()}
        raise
    return {"total_norm": float(total), "grads": grads_of()}


# ---------------------------------------------------------------- output

def enc(x):
    if x is None:
        return None
    if isinstance(x, (list, tuple, np.ndarray)):
        return [enc(v) for v in np.asarray(x, dtype=np.float64).ravel().tolist()]
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def encode_case(case, expected):
    out = {}
    for key, value in case.items():
        if key == "params":
            out[key] = [{"shape": p["shape"], "dtype": p["dtype"], "grad": enc(p["grad"])} for p in value]
        elif key in ("max_norm", "norm_type", "total_norm", "clip_value"):
            out[key] = enc(value)
        else:
            out[key] = value
    exp = {"raises": expected.get("raises", False)}
    if "error" in expected:
        exp["error"] = expected["error"]
    if "total_norm" in expected:
        exp["total_norm"] = enc(expected["total_norm"])
    if "grads" in expected:
        exp["grads"] = [enc(g) for g in expected["grads"]]
    out["expected"] = exp
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--numpy", action="store_true", help="use the numpy model even if torch is importable")
    parser.add_argument("--out", type=pathlib.Path, default=OUT)
    args = parser.parse_args()
    torch = None
    if not args.numpy:
        try:
            import torch
        except ImportError:
            torch = None
    if torch is not None:
        reference = f"torch {torch.__version__}"
        run = lambda c: run_torch(c, torch)
    else:
        reference = f"numpy {np.__version__} float64 model of torch semantics"
        run = run_model
    with np.errstate(over="ignore", invalid="ignore"):
        encoded = [encode_case(c, run(c)) for c in cases()]
    doc = {"reference": reference, "generator": "scripts/golden/clip_golden.py", "eps": EPS, "cases": encoded}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
    print(f"wrote {len(encoded)} cases to {args.out} ({reference})", file=sys.stderr)


if __name__ == "__main__":
    main()
