"""Spatial order of the scheme in 1-D, 2-D, 3-D: runs spatial_order.toml, fits the orders, plots.

    python benchmarks/convergence/spatial_order.py [--scheduler ADDRESS] [--workers N]
"""

from collections import defaultdict

import common

THEORY = 2.0  # cell-centred finite volumes with Scharfetter-Gummel face weights: second order


def main():
    args = common.parse_args(__doc__)
    rows = common.run("spatial_order", args)
    groups = defaultdict(list)
    for r in rows:
        groups[(r["divergence"], r["dim"])].append(r)
    plt = common.plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    table = []
    floor = 0.0
    for (div, dim), rs in sorted(groups.items()):
        rs.sort(key=lambda r: r["n"])
        h = [r["h"] for r in rs]
        e = [r["error_l1"] for r in rs]
        n = [r["n"] for r in rs]
        p, se = common.fit_order(n[-3:], e[-3:])
        p_all, _ = common.fit_order(n, e)
        loc = common.local_orders(n, e)
        floor = max(floor, max(r["time_error_estimate"] for r in rs))
        table.append([div.upper(), f"{dim}-D", f"{rs[0]['n']}..{rs[-1]['n']}", "exact" if div == "kl" else "grid 2n",
                      e[-1], f"{p:.2f} ± {se:.2f}", f"{p_all:.2f}", ", ".join(f"{x:.2f}" for x in loc), THEORY,
                      sum(r["seconds"] for r in rs)])
        ax = axes[0 if div == "kl" else 1]
        ax.loglog(h, e, "o-", label=f"{dim}-D: order {p:.2f}")
    import numpy as np

    x = np.array([0.1, 0.5])
    for ax in axes:
        ax.loglog(x, 0.05 * x ** 2, "k--", lw=1, label="h^2")
    for ax, div in zip(axes, ["KL (vs exact solution)", "JSD (vs grid 2n)"]):
        ax.set_title(div)
        ax.set_xlabel("cell width h")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    axes[0].set_ylabel("L1 error at t = 0.5")
    fig.suptitle("Spatial order (time error removed by Richardson extrapolation)")
    fig.tight_layout()
    fig.savefig(common.figure_path("spatial_order"), dpi=120)
    header = ["flow", "dim", "n", "reference", "finest error", "order (3 finest)", "order (all)",
              "local orders", "theory", "seconds"]
    text = ("### Spatial order\n\n" + common.markdown_table(header, table)
            + f"\n\nThe time error that the extrapolation removes (plain backward Euler at the smallest dt "
            f"against the extrapolated solution) is up to {floor:.1e} in L1; what remains is O(dt^3) for KL "
            f"(three step sizes) and O(dt^2) for JSD (two), below the spatial errors shown. "
            f"Measured {common.stamp()}.")
    common.write_summary("spatial_order", text)


if __name__ == "__main__":
    main()
