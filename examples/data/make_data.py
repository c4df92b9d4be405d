"""Regenerate the sample files used by ../from_samples.toml (seeded, reproducible).

target_samples.csv : 600 draws of a skewed, non-Gaussian law (log-normal, shifted), the "data" rho_d
initial_samples.npy: 400 draws of N(1.5, 0.4^2), the initial density rho_0
periodic_target.csv: the cell values (200 cells on the circle [0, 1)) of a two-bump periodic density,
                     the target of ../periodic_1d.toml (kind = "array")
"""

from pathlib import Path

import numpy as np

here = Path(__file__).parent
rng = np.random.default_rng(2023)
target = rng.lognormal(mean=0.0, sigma=0.5, size=600) - 1.0
np.savetxt(here / "target_samples.csv", target[:, None], fmt="%.6f", delimiter=",", header="x", comments="")
np.save(here / "initial_samples.npy", 1.5 + 0.4 * rng.standard_normal((400, 1)))

# two von Mises bumps on the circle [0, 1), one value per cell centre (periodic_1d.toml: shape = [200])
x = (np.arange(200) + 0.5) / 200
bumps = np.exp(3.0 * np.cos(2 * np.pi * (x - 0.25))) + 0.6 * np.exp(4.0 * np.cos(2 * np.pi * (x - 0.7)))
np.savetxt(here / "periodic_target.csv", bumps, fmt="%.12g")
