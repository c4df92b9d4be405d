"""The Crandall-Liggett exponential formula: error against n for smooth and discontinuous rho_0.

    python benchmarks/convergence/exponential_formula.py [--scheduler ADDRESS] [--workers N]

Crandall-Liggett's estimate for an m-accretive operator in L1 is O(h^(1/2)) in general, O(h) for
data in the domain of A (smooth data); this measures which one the discrete flow shows.
"""

from collections import defaultdict

import numpy as np

import common


def main():
    args = common.parse_args(__doc__)
    rows = common.run("exponential_formula", args)
    groups = defaultdict(list)
    for r in rows:
        groups[(r["initial"], r["divergence"], r["t_final"], r["cells"])].append(r)
    plt = common.plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    table = []
    for (init, div, t, cells), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2], kv[0][3])):
        rs.sort(key=lambda r: r["n_steps"])
        n = np.array([r["n_steps"] for r in rs])
        e = np.array([r["error_l1"] for r in rs])
        p_small, se_small = common.fit_order(n[-4:], e[-4:])   # small h: n = 128 .. 1024
        p_large, _ = common.fit_order(n[:4], e[:4])            # large h: n = 1 .. 8
        loc = common.local_orders(n, e)
        table.append([init, div.upper(), t, cells, e[0], e[-1], f"{p_large:.2f}", f"{p_small:.2f} ± {se_small:.2f}",
                      ", ".join(f"{x:.2f}" for x in loc), "1" if init == "smooth" else "≥ 1/2 (1 if smooth)"])
        if cells == 400:
            ax = axes[0 if init == "smooth" else 1]
            ax.loglog(n, e, "o-" if div == "jsd" else "s--", label=f"{div.upper()}, t = {t:g}: order {p_small:.2f}")
    for ax, title in zip(axes, ["smooth rho_0 = N(0.5, 0.36)", "discontinuous rho_0 = U[-1, 2]"]):
        nn = np.array([1, 1024])
        ax.loglog(nn, 0.3 / nn, "k--", lw=1, label="n^-1")
        ax.loglog(nn, 0.3 / np.sqrt(nn), "k:", lw=1, label="n^-1/2")
        ax.set_title(title)
        ax.set_xlabel("n (steps to reach t)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("|| (I + (t/n)A)^-n v0 - v(t) ||_L1(mu_d)")
    fig.suptitle("Exponential formula (eq. 39), 400 cells on [-8, 8]")
    fig.tight_layout()
    fig.savefig(common.figure_path("exponential_formula"), dpi=120)
    header = ["rho_0", "flow", "t", "cells", "error n=1", "error n=1024", "order n=1..8", "order n=128..1024",
              "local orders (n doubling)", "theory"]
    text = ("### Exponential formula\n\n" + common.markdown_table(header, table)
            + f"\n\nMeasured {common.stamp()}.")
    common.write_summary("exponential_formula", text)


if __name__ == "__main__":
    main()
