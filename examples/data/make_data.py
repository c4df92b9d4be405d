"""Regenerate the sample files used by ../from_samples.toml (seeded, reproducible).

target_samples.csv : 600 draws of a skewed, non-Gaussian law (log-normal, shifted), the "data" rho_d
initial_samples.npy: 400 draws of N(1.5, 0.4^2), the initial density rho_0
"""

from pathlib import Path

import numpy as np

here = Path(__file__).parent
rng = np.random.default_rng(2023)
target = rng.lognormal(mean=0.0, sigma=0.5, size=600) - 1.0
np.savetxt(here / "target_samples.csv", target[:, None], fmt="%.6f", delimiter=",", header="x", comments="")
np.save(here / "initial_samples.npy", 1.5 + 0.4 * rng.standard_normal((400, 1)))
