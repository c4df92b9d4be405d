"""Particles: W1 between N particles and the grid solution, against N, sampling and bandwidth.

    python benchmarks/convergence/particles_w1.py [--scheduler ADDRESS] [--workers N]

Expected: i.i.d. initial positions give W1 ~ N^(-1/2) (the empirical measure's sampling error);
quasi-Monte Carlo (scrambled Sobol) ~ N^(-1) up to logarithms in 1-D, until the error of the
transport itself (velocity interpolation and time stepping) takes over; self-consistent KDE
particles converge as N -> inf and bandwidth -> 0, with a bias that grows with the bandwidth.
"""

from collections import defaultdict

import numpy as np

import common


def main():
    args = common.parse_args(__doc__)
    rows = common.run("particles_w1", args)
    mean = defaultdict(list)
    for r in rows:
        key = (r["velocity"], r["sampling"], r["dim"], r.get("cells"), r.get("dt"),
               str(r.get("bandwidth")) if r["velocity"] == "kde" else "-", r["n"])
        mean[key].append((r["w1_initial"], r["w1_final"]))
    series = defaultdict(list)
    for key, vals in mean.items():
        v = np.array(vals)
        series[key[:-1]].append((key[-1], v[:, 0].mean(), v[:, 1].mean(), v[:, 1].std(ddof=1) if len(v) > 1 else np.nan,
                                 len(v)))
    table = []
    plt = common.plt()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3))
    for key, pts in sorted(series.items(), key=lambda kv: str(kv[0])):
        pts.sort()
        n = np.array([p[0] for p in pts])
        if len(n) < 3:
            continue
        w0 = np.array([p[1] for p in pts])
        w = np.array([p[2] for p in pts])
        vel, samp, dim, cells, dt, bw = key
        p_all, se = common.fit_order(n, w)
        p0, _ = common.fit_order(n, w0)
        if vel == "kde":
            theory = "bias O(h^2) + noise; Scott h ~ N^-1/5: 2/5"
        elif samp == "iid":
            theory = "1/2"
        else:
            theory = "1 (1-D QMC) until the O(dt) transport floor" if dim == 1 else \
                "sliced: 1-D projections; (full W1 of any N points >= c N^-1/2)"
        table.append([vel, samp, f"{dim}-D", bw, f"{n[0]}..{n[-1]}", pts[0][4], w[0], w[-1], f"{p0:.2f}",
                      f"{p_all:.2f} ± {se:.2f}", ", ".join(f"{x:.2f}" for x in common.local_orders(n, w)), theory])
        ax = axes[0] if (vel == "grid" and dim == 1) else axes[1] if vel == "grid" else axes[2]
        lab = f"{samp}" + (f", {dim}-D" if vel == "grid" else f", h = {bw}")
        line, = ax.loglog(n, w, "o-" if samp == "sobol" else "s--", label=f"{lab}: slope -{p_all:.2f}")
        if vel == "grid" and samp == "sobol":
            p0s, _ = common.fit_order(n, w0)
            ax.loglog(n, w0, ":", marker=".", color=line.get_color(), label=f"{lab} at t = 0: slope -{p0s:.2f}")
    nn = np.array([100, 1e5])
    for ax, title in zip(axes, ["grid velocity, 1-D (W1 exact)", "grid velocity, 2-D (sliced W1)",
                                "self-consistent KDE particles, 1-D"]):
        ax.loglog(nn, 1.0 / np.sqrt(nn), "k-", lw=0.8, label="N^-1/2")
        ax.loglog(nn, 3.0 / nn, "k--", lw=0.8, label="N^-1")
        ax.set_title(title)
        ax.set_xlabel("N particles")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("W1(particles, u) at t = 1")
    fig.tight_layout()
    fig.savefig(common.figure_path("particles_w1"), dpi=120)
    header = ["velocity", "sampling", "dim", "bandwidth", "N", "seeds", "W1 at smallest N", "W1 at largest N",
              "slope at t = 0", "slope at t = 1", "local slopes", "theory"]
    floor = sorted((r for r in rows if r["velocity"] == "grid" and r["dim"] == 1 and r["n"] == 100000
                    and r["sampling"] == "sobol" and r["seed"] == 0 and "cells" in r), key=lambda r: (r["cells"], r["dt"]))
    ftable = [[r["cells"], r["dt"], r["w1_initial"], r["w1_final"]] for r in floor]
    # KDE bias: W1 at the largest N (Sobol) against a fixed bandwidth
    kde = sorted(((float(k[5]), v) for k, v in series.items() if k[0] == "kde" and k[1] == "sobol"
                  and k[5] not in ("scott", "silverman")), key=lambda kv: kv[0])
    hs = np.array([h for h, _ in kde])
    wb = np.array([max(v)[2] for _, v in kde])  # the largest N
    p_h, se_h = common.fit_order(1.0 / hs, wb)
    text = ("### Particles\n\nW1 at t = 1 (mean over seeds) between the particles and the grid solution.\n\n"
            + common.markdown_table(header, table)
            + "\n\nKDE particles (Sobol), W1 at N = 30000 against the bandwidth h: "
            + ", ".join(f"h = {h:g}: {w:.2e}" for h, w in zip(hs, wb))
            + f"; fitted W1 ~ h^{p_h:.2f} ± {se_h:.2f} (a kernel's bias is O(h^2))."
            + "\n\nThe transport floor (grid velocity, 1-D, Sobol, N = 1e5): W1 at t = 1 against the grid and step\n\n"
            + common.markdown_table(["cells", "dt", "W1 at t = 0", "W1 at t = 1"], ftable)
            + f"\n\nMeasured {common.stamp()}.")
    common.write_summary("particles_w1", text)


if __name__ == "__main__":
    main()
