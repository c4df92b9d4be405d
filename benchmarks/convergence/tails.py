"""Tails: heavy-tailed rho_0 (large beta) and the dependence of the decay on the box.

    python benchmarks/convergence/tails.py [--scheduler ADDRESS] [--workers N]
"""

import json
from collections import defaultdict

import numpy as np

import common


def _curve(v):
    return np.asarray(json.loads(v) if isinstance(v, str) else v, dtype=float)


def label(r):
    return "N(0, %g^2)" % r["scale"] if r["initial"] == "gaussian" else "Student t3, scale %g" % r["scale"]


def main():
    args = common.parse_args(__doc__)
    rows = common.run("tails", args)
    rows.sort(key=lambda r: (r["divergence"], r["initial"], r["scale"], r["half_width"]))
    table = []
    for r in rows:
        table.append([label(r), r["divergence"].upper(), r["half_width"], r["beta"], r["l1_initial"], r["l1_at_10"],
                      r["l1_at_100"], r["l1_at_1000"], r["t_l1_1e-02"], r["t_l1_1e-03"], r["t_l1_1e-04"],
                      r["rate_l1"], r["rate_l1_pred"], r["rate_l1_pred2"], r["grad_integral"], r["bound_lemma24"]])
    header = ["rho_0", "flow", "L", "beta (box)", "L1 at 0", "L1 at 10", "L1 at 100", "L1 at 1000",
              "t: L1 < 1e-2", "t: L1 < 1e-3", "t: L1 < 1e-4", "late L1 rate", "pred. BE rate lambda_1",
              "pred. BE rate lambda_2",
              "int ||grad v||^2", "Lemma 24 bound"]
    text = ("### Tails\n\nrho_d = N(0, 1) on [-L, L]; '-' = not reached by t_final (5000 for JSD, 50 for KL).\n\n"
            + common.markdown_table(header, table) + f"\n\nMeasured {common.stamp()}.")
    common.write_summary("tails", text)

    plt = common.plt()
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.3))
    groups = defaultdict(list)
    for r in rows:
        if r["divergence"] == "jsd":
            groups[label(r)].append(r)
    for k, (lab, rs) in enumerate(groups.items()):
        L = [r["half_width"] for r in rs]
        for lev, mk in [("1e-02", "o-"), ("1e-03", "s--")]:
            t = [r[f"t_l1_{lev}"] for r in rs]
            axes[1].semilogy(L, t, mk, color=f"C{k}", label=f"{lab}: L1 < {lev}")
        axes[2].semilogy(L, [r["beta"] for r in rs], "o-", color=f"C{k}", label=lab)
        if lab.startswith("N(0, 2") or lab.startswith("Student"):
            for j, r in enumerate(rs):
                axes[0].loglog(_curve(r["curve_t"]), _curve(r["curve_l1"]), "-" if lab.startswith("N") else "--",
                               color=f"C{k}", alpha=0.35 + 0.65 * j / max(1, len(rs) - 1),
                               label=f"{lab}, L = {r['half_width']:g}")
    kl = [r for r in rows if r["divergence"] == "kl" and r["initial"] == "gaussian" and r["scale"] == 2.0
          and r["half_width"] == 12.0]
    for r in kl:
        axes[0].loglog(_curve(r["curve_t"]), _curve(r["curve_l1"]), "k:", label="KL flow, N(0, 2^2), L = 12")
    axes[0].set_xlabel("t")
    axes[0].set_ylabel("||u(t) - rho_d||_L1")
    axes[0].set_title("Heavy-tailed rho_0: the JSD flow stalls, KL does not")
    axes[0].set_ylim(1e-13, 2)
    axes[0].legend(fontsize=6)
    axes[0].grid(True, which="both", alpha=0.3)
    axes[1].set_xlabel("box half-width L")
    axes[1].set_ylabel("time to reach the level (JSD flow)")
    axes[1].set_title("Time to reach L1 < 1e-2, 1e-3 against the box")
    axes[1].legend(fontsize=6)
    axes[1].grid(True, which="both", alpha=0.3)
    axes[2].set_xlabel("box half-width L")
    axes[2].set_ylabel("beta = max rho_0 / rho_d on the box")
    axes[2].legend(fontsize=8)
    axes[2].grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(common.figure_path("tails"), dpi=120)


if __name__ == "__main__":
    main()
