"""Long-time decay rates against the prediction Phi'(1) lambda_1, for every target.

    python benchmarks/convergence/long_time.py [--scheduler ADDRESS] [--workers N]

Also checks Lemma 24 on every run: int ||grad v||^2 dt against (1 + beta) beta^2.
"""

import numpy as np

import common


def main():
    args = common.parse_args(__doc__)
    rows = common.run("long_time", args)
    table, lemma = [], []
    for r in rows:
        dev = r["rate_l1"] / r["rate_l1_pred_discrete"] - 1
        second = r["case"] == "gaussian_symmetric"  # a symmetric rho_0 leaves the first (odd) mode unexcited
        pred = r["rate_l1_pred2_discrete"] if second else r["rate_l1_pred_discrete"]
        epred = 2 * pred
        table.append([r["label"], r["divergence"].upper(), r["lambda_1"], r["lambda_1_exact"], r["lambda_2"],
                      r["rate_l1_pred"], r["rate_l1_pred_discrete"], r["rate_l1"], f"{dev:+.1e}",
                      "lambda_2" if second else "lambda_1", f"{r['rate_l1'] / pred - 1:+.1e}",
                      epred, r["rate_energy"], f"{r['rate_energy'] / epred - 1:+.1e}"])
        lemma.append([r["label"], r["divergence"].upper(), r["beta"], r["grad_integral"], r["bound_energy"],
                      r["bound_mass"], r["bound_lemma24"]])
    header = ["target", "flow", "lambda_1 (grid)", "lambda_1 exact", "lambda_2 (grid)",
              "pred. L1 rate Phi'(1) lambda_1", "pred. BE rate ln(1+hr)/h", "fitted L1 rate", "rel. dev.",
              "slowest excited mode", "rel. dev. from its BE rate", "pred. energy BE rate", "fitted energy rate", "rel. dev."]
    lem_header = ["target", "flow", "beta", "measured int ||grad v||^2 dt", "(1+beta)(||v0||^2-||vT||^2) [JSD]",
                  "(1+beta) beta [JSD]", "Lemma 24: (1+beta) beta^2 [JSD]"]
    text = ("### Long-time rates\n\n" + common.markdown_table(header, table)
            + "\n\n#### Lemma 24 on the same runs\n\n(For KL the bounds use c = min Phi' = 1, i.e. beta^2/2 etc.)\n\n"
            + common.markdown_table(lem_header, lemma) + f"\n\nMeasured {common.stamp()}.")
    common.write_summary("long_time", text)

    rows = [r for r in rows if not r.get("adaptive_rtol")]  # figures: fixed-step runs only
    plt = common.plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    mix = sorted((r for r in rows if r["case"] == "mixture"), key=lambda r: r["param"])
    for div, mk in [("jsd", "o"), ("kl", "s")]:
        rs = [r for r in mix if r["divergence"] == div]
        d = [r["param"] for r in rs]
        axes[0].semilogy(d, [r["rate_l1"] for r in rs], mk, label=f"{div.upper()}: fitted L1 rate")
        axes[0].semilogy(d, [r["rate_l1_pred_discrete"] for r in rs], "k-" if div == "jsd" else "k--", lw=1,
                         label=f"{div.upper()}: ln(1 + h Phi'(1) lambda_1)/h")
    axes[0].set_xlabel("separation of the two modes")
    axes[0].set_ylabel("decay rate of ||u - rho_d||_L1")
    axes[0].set_title("Metastability: 0.5 N(-d/2, 1) + 0.5 N(d/2, 1)")
    axes[0].legend(fontsize=8)
    axes[0].grid(True, which="both", alpha=0.3)
    pred = np.array([r["rate_l1_pred_discrete"] for r in rows])
    fit = np.array([r["rate_l1"] for r in rows])
    sym = np.array([r["case"] == "gaussian_symmetric" for r in rows])
    axes[1].loglog(pred[~sym], fit[~sym], "o", label="all cases")
    axes[1].loglog(pred[sym], fit[sym], "s", color="C3", label="symmetric rho_0 (lambda_2 mode)")
    lim = [pred.min() / 2, max(pred.max(), fit.max()) * 2]
    axes[1].loglog(lim, lim, "k-", lw=1, label="fitted = predicted")
    axes[1].loglog(lim, 2 * np.array(lim), "k:", lw=1, label="2x predicted")
    axes[1].set_xlabel("predicted rate ln(1 + h Phi'(1) lambda_1)/h")
    axes[1].set_ylabel("fitted L1 rate")
    axes[1].legend(fontsize=8)
    axes[1].grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(common.figure_path("long_time"), dpi=120)


if __name__ == "__main__":
    main()
