"""Write Tests/LaCoOTTests/Fixtures/msw_pot.json: POT's (max-)sliced Wasserstein values
for fixed point clouds and fixed directions, for the Swift tests to match.

Each case holds X [N][d], Y [N][d], theta [d][K] (unit columns: POT's ``projections``
orientation is (dim, n_projections)), p, and POT's values computed with exactly those
directions:
  msw  = ot.sliced.max_sliced_wasserstein_distance(X, Y, p=p, projections=theta)
  sw   = ot.sliced.sliced_wasserstein_distance(X, Y, p=p, projections=theta)
  wpp  = the per-direction W_p^p (POT's log "projected_emds"), length K
All values are float64. Every case is checked against ``lacoot_ref.msw_reference``
(and ``sw_reference``) to 1e-9 before writing.

Usage: .venv-ref/bin/python Benchmarks/reference/make_msw_fixture.py [OUT.json]
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lacoot_ref  # noqa: E402
import ot  # noqa: E402
import ot.sliced  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_OUT = os.path.join(REPO, "Tests", "LaCoOTTests", "Fixtures", "msw_pot.json")

# (name, N, d, K, p, how Y differs from X)
CASES = [
    ("d1_shift_scale", 8, 1, 2, 2, "shift_scale"),
    ("n2_edge", 2, 5, 4, 2, "shift"),
    ("small_aniso", 16, 3, 5, 2, "aniso"),
    ("p1", 20, 10, 8, 1, "shift_scale"),
    ("ties", 24, 6, 7, 2, "ties"),
    ("d64_k16", 32, 64, 16, 2, "aniso"),
]


def _round(a: np.ndarray) -> np.ndarray:
    """Keep 6 decimals so the JSON stays small; the rounded values ARE the data."""
    return np.round(a, 6)


def make_case(rng: np.random.Generator, name: str, n: int, d: int, k: int, p: int,
              kind: str) -> dict:
    """Draw one case and compute POT's values with the drawn directions."""
    X = rng.standard_normal((n, d))
    if kind == "shift":
        Y = rng.standard_normal((n, d)) + 0.5
    elif kind == "shift_scale":
        Y = 1.7 * rng.standard_normal((n, d)) - 0.3
    elif kind == "aniso":
        scales = np.linspace(0.5, 2.5, d)
        Y = rng.standard_normal((n, d)) * scales + 0.2 * rng.standard_normal(d)
    elif kind == "ties":
        # Repeated values in both clouds: sorting ties must not change the result.
        X = np.round(X)
        Y = np.round(rng.standard_normal((n, d)) * 1.5)
    else:
        raise ValueError(kind)
    X, Y = _round(X), _round(Y)
    if d == 1:
        assert k <= 2, "in 1-D the only unit directions are +1 and -1"
        theta = np.array([[1.0, -1.0]])[:, :k]
    else:
        g = rng.standard_normal((d, k))
        theta = g / np.sqrt((g ** 2).sum(axis=0, keepdims=True))
    msw, log = ot.sliced.max_sliced_wasserstein_distance(X, Y, p=p, projections=theta, log=True)
    sw = ot.sliced.sliced_wasserstein_distance(X, Y, p=p, projections=theta)
    wpp = np.asarray(log["projected_emds"], dtype=np.float64)

    # Check against our torch reference (float64) to 1e-9.
    tX, tY, tT = (torch.from_numpy(a) for a in (X, Y, theta))
    ours = float(lacoot_ref.msw_reference(tX, tY, tT, p=p))
    ours_sw = float(lacoot_ref.sw_reference(tX, tY, tT, p=p))
    for label, a, b in (("msw", float(msw), ours), ("sw", float(sw), ours_sw)):
        if abs(a - b) > 1e-9:
            raise SystemExit(f"{name}: POT {label} {a!r} != msw_reference {b!r}")
    return {
        "name": name, "n": n, "d": d, "k": k, "p": p,
        "X": X.tolist(), "Y": Y.tolist(), "theta": theta.tolist(),
        "msw": float(msw), "sw": float(sw), "wpp": wpp.tolist(),
        "argmax": int(np.argmax(wpp)),
    }


def main() -> None:
    out = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    rng = np.random.default_rng(20240613)
    cases = [make_case(rng, *c) for c in CASES]
    doc = {
        "generator": "Benchmarks/reference/make_msw_fixture.py",
        "pot_version": ot.__version__,
        "numpy_version": np.__version__,
        "theta_orientation": "theta is [d][K]: one unit direction per COLUMN (POT's projections shape (dim, n_projections))",
        "definition": "wpp[k] = mean_i |sort(X theta_k)_i - sort(Y theta_k)_i|^p; msw = max_k wpp[k]^(1/p); sw = (mean_k wpp[k])^(1/p)",
        "cases": cases,
    }
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    size = os.path.getsize(out)
    print(json.dumps({"wrote": os.path.relpath(out, REPO) if out.startswith(REPO) else out,
                      "bytes": size, "cases": [(c["name"], c["msw"]) for c in cases]}))


if __name__ == "__main__":
    main()
