"""The four built-in flows (JSD, KL, chi^2, Hellinger) toward the same two-mode target, side by side.

Writes benchmarks/four_divergences.png (L1 distance to rho_d against time, early and late, with
the predicted late rates ln(1 + h Phi'(1) lambda_1)/h as dashed lines, and the densities at
t = 0.1, 1) and prints the fitted late rates against the prediction.

    python benchmarks/bench_divergences.py
"""

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import fokkerplanck as fp  # noqa: E402
from fokkerplanck.theory import decay_window, discrete_rate, fit_rate, spectral_gap  # noqa: E402

grid = fp.Grid([-6.0], [6.0], [300])
target = fp.GaussianMixture([0.5, 0.5], [[-1.5], [1.5]], [[[0.4]], [[0.4]]])
initial = np.where(np.abs(grid.axes[0] - 0.4) < 0.8, 1.0, 0.0)  # compact support, off-centre (a symmetric
# start would not excite the slowest, odd, mode of the symmetric target)
lam1 = spectral_gap(target, grid)
dt = 0.05
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
for name, color in (("jsd", "C0"), ("kl", "C1"), ("chi2", "C2"), ("hellinger", "C3")):
    div = fp.get_divergence(name)
    rate = div.phi_prime_at_one * lam1
    t_final = 28.0 / rate
    s = fp.solve(target, initial, grid, t_final, dt, divergence=name, t_eval=[0.0, 0.1, 1.0, t_final])
    t, l1 = s.history["t"], s.history["l1"]
    fit, _ = fit_rate(t, l1, decay_window(t, l1))
    pred = discrete_rate(rate, dt)
    print(f"{name:10s} Phi'(1) = {div.phi_prime_at_one:4.2f}  late L1 rate: fitted {fit:.5f}, predicted "
          f"{pred:.5f} (ratio {fit / pred:.4f}); L1 at t = 1: {np.interp(1.0, t, l1):.3e}")
    ax1.semilogy(t, l1, color=color, label=f"{div.long_name} (Phi'(1) = {div.phi_prime_at_one:g})")
    ax1.semilogy(t, l1[np.searchsorted(t, 5.0 / rate)] * np.exp(-pred * (t - t[np.searchsorted(t, 5.0 / rate)])),
                 color=color, ls="--", lw=0.8)
    ax2.plot(grid.axes[0], s.u[1], color=color, ls=":")
    ax2.plot(grid.axes[0], s.u[2], color=color, label=f"{name}, t = 0.1 (dotted), 1")
ax2.plot(grid.axes[0], s.target, "k", lw=0.8, label="target")
ax1.set(xlabel="t", ylabel="||u - rho_d||_L1", xscale="symlog", ylim=(1e-10, 3), title=f"lambda_1 = {lam1:.4f}")
ax1.legend(fontsize=7)
ax2.legend(fontsize=7)
ax2.set(xlabel="x", ylabel="u")
fig.tight_layout()
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "four_divergences.png")
fig.savefig(out, dpi=110)
print("wrote", out)
