"""Neural GANs as the ODE: Algorithm 1 and vanilla GAN training with real networks (issue 15).

For each target (1-D bimodal, 2-D ring of 8, 5x5 grid of 25 Gaussians) and each seed, up to time T
with step eps (T / eps iterations):

(a)   the grid PDE solution (fp.solve, backward Euler dt = eps): the ground truth u(t);
(i)   the ODE with the neural calibrator: N particles moved by eps * grad D / (2 (1 - D)), D an MLP
      trained by Adam, warm-started (the nonparametric navigator; velocity="discriminator",
      calibrator="neural", forward Euler);
(ii)  Algorithm 1, point-wise: MLP generator; moved outputs fitted by MSE (n_fit Adam steps);
(iii) Algorithm 1, set-wise: the moved outputs re-paired by optimal assignment, then fitted;
(iv)  standard alternating GAN training: Adam (betas 0.5, 0.999), non-saturating loss, the same
      networks; iterations chosen so that it gets the same number of discriminator steps as (ii);
(cap) capacity: the same MLP generator fitted directly to the data (set-wise, matching every
      100 Adam steps): what the generator family can reach at all;
(rf-i), (rf-ii) the random-feature calibrator / generator of issue 4 on the same setup, for comparison.

Metrics (fp.compare, as run_gan.py): JSD by bins to rho_d; W1 to rho_d and to u(T) -- exact W1 in
1-D, SLICED W1 (64 directions) in 2-D; modes covered; fraction of samples within 3 sd of a mode.
All on N samples; the floor row is N i.i.d. samples of rho_d. Seconds per iteration of each method.

Usage::

    python benchmarks/gan/run_neural.py --target bimodal1d --seeds 0 1 2     # writes neural_<target>.csv
    python benchmarks/gan/run_neural.py --markdown                           # tables from the CSVs
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import numpy as np  # noqa: E402

import fokkerplanck as fp  # noqa: E402
from fokkerplanck import gan  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run_gan import Metrics, ring  # noqa: E402


def grid25(sd=0.3):
    c = np.arange(-4.0, 4.1, 2.0)
    means = np.array([[a, b] for a in c for b in c])
    return fp.GaussianMixture(np.full(25, 1.0 / 25), means, np.tile(sd * sd * np.eye(2), (25, 1, 1))), means, sd


def configs():
    bimodal = fp.GaussianMixture([0.5, 0.5], [[-2.0], [2.0]], [[[0.25]], [[0.25]]])
    ring8, ring_means, ring_sd = ring()
    g25, g25_means, g25_sd = grid25()
    # sized for a shared 2-core machine (the whole experiment within ~25 min of compute)
    common = dict(T=3.0, eps=0.1, record_dt=0.5, n=1000, n_data=1000, batch=500,
                  calibrator=dict(hidden=(32, 32), n_initial_steps=1000, n_steps=30, learning_rate=3e-3),
                  generator=dict(hidden=(64, 64), optimizer="adam", learning_rate=2e-3, n_fit_steps=20))
    return {
        "bimodal1d": dict(common, target=bimodal, mode_means=np.array([[-2.0], [2.0]]), mode_sd=0.5,
                          initial_mean=[0.0], initial_cov=[[2.25]], grid=fp.Grid([-7.0], [7.0], [1400]), coarse=20,
                          rff=dict(n_features=300, bandwidth=0.4, regularization=1e-3),
                          rff_gen=dict(n_features=200, bandwidth=0.3)),
        "ring2d": dict(common, target=ring8, mode_means=ring_means, mode_sd=ring_sd,
                       initial_mean=[0.0, 0.0], initial_cov=2.25 * np.eye(2),
                       grid=fp.Grid([-4.5, -4.5], [4.5, 4.5], [120, 120]), coarse=4,
                       rff=dict(n_features=400, bandwidth=0.4, regularization=1e-3),
                       rff_gen=dict(n_features=300, bandwidth=0.5)),
        "grid25": dict(common, target=g25, mode_means=g25_means, mode_sd=g25_sd,
                       initial_mean=[0.0, 0.0], initial_cov=2.25 * np.eye(2),
                       grid=fp.Grid([-6.0, -6.0], [6.0, 6.0], [120, 120]), coarse=4,
                       rff=dict(n_features=400, bandwidth=0.4, regularization=1e-3),
                       rff_gen=dict(n_features=300, bandwidth=0.5)),
    }


def run(name, cfg, seeds, quick=False, out=None):
    if quick:
        cfg = dict(cfg, T=0.3, record_dt=0.1)
    T, eps, n = cfg["T"], cfg["eps"], cfg["n"]
    n_iter = int(round(T / eps))
    every = int(round(cfg["record_dt"] / eps))
    met = Metrics(cfg)
    target, grid = cfg["target"], cfg["grid"]
    initial = fp.Gaussian(cfg["initial_mean"], cfg["initial_cov"])
    d = grid.ndim
    rows, history = [], []
    t0 = time.perf_counter()
    sol = fp.solve(target, initial, grid, T, dt=eps, t_eval="steps")
    sec_pde = time.perf_counter() - t0
    u_T = (grid, sol.u[-1])

    def w1_ode(x):
        return met.w1(x, u_T)

    def record(method, seed, it, x):
        m = met.of_samples(x)
        history.append(dict(target=name, method=method, seed=seed, t=round(it * eps, 10), iteration=it, **m))

    def finish(method, seed, x, seconds, iters, extra=None, steps=None):
        # s_per_iter: median wall time of one iteration after the first (which includes JAX's compilation)
        m = met.of_samples(x)
        row = dict(target=name, method=method, seed=seed, T=T, iterations=iters, jsd=m["jsd"], w1=m["w1"],
                   w1_to_uT=w1_ode(x), modes=m["modes"], near_mode=m["near_mode"], seconds=round(seconds, 2),
                   s_per_iter=round(float(np.median(steps[1:])) if steps is not None and len(steps) > 1
                                     else seconds / max(iters, 1), 4), **(extra or {}))
        rows.append(row)
        print(f"  [{name} seed {seed}] {method:38s} JSD={m['jsd']:.4f} W1={m['w1']:.3f} W1(u_T)={row['w1_to_uT']:.3f} "
              f"modes={m['modes']} near={m['near_mode']:.3f}  {seconds:.1f} s ({row['s_per_iter']:.3f} s/it)",
              flush=True)

    pde = met.of_density(sol.u[-1])
    rows.append(dict(target=name, method="(a) grid PDE", seed="", T=T, iterations=n_iter, jsd=pde["jsd"], w1=pde["w1"],
                     w1_to_uT=0.0, modes=pde["modes"], near_mode=pde["near_mode"], seconds=round(sec_pde, 2),
                     s_per_iter=round(sec_pde / n_iter, 4)))
    for k in range(0, n_iter + 1, every):
        history.append(dict(target=name, method="(a) grid PDE", seed="", t=round(sol.t[k], 10), iteration=k,
                            **met.of_density(sol.u[k])))
    print(f"{name}: PDE at T={T}: {pde}", flush=True)

    for seed in seeds:
        draws = [met.of_samples(target.sample(n, seed=1000 * seed + 90 + k)) for k in range(4)]
        rows.append(dict(target=name, method="floor: N i.i.d. samples of rho_d", seed=seed, T=T, iterations=0,
                         **{k: float(np.mean([dd[k] for dd in draws])) for k in ("jsd", "w1", "modes", "near_mode")},
                         w1_to_uT=np.nan, seconds=0, s_per_iter=np.nan))
        data = target.sample(cfg["n_data"], seed=1000 * seed + 1)
        x0 = initial.sample(n, seed=1000 * seed + 2)

        # (i) ODE with the neural calibrator, and (rf-i) with the random-feature calibrator
        for label, cal in [("(i) ODE, neural calibrator",
                            gan.NeuralCalibrator(seed=1000 * seed + 3, **cfg["calibrator"])),
                           ("(rf-i) ODE, random-feature calibrator",
                            gan.Calibrator(seed=1000 * seed + 3, **cfg["rff"]))]:
            nav = gan.NonparametricNavigator(x0, data, eps, calibrator=cal)
            record(label, seed, 0, nav.particles)
            t0, steps = time.perf_counter(), []
            for it in range(1, n_iter + 1):
                ts = time.perf_counter()
                nav.step()
                steps.append(time.perf_counter() - ts)
                if it % every == 0:
                    el = time.perf_counter() - t0
                    record(label, seed, it, nav.particles)
                    t0 = time.perf_counter() - el
            finish(label, seed, nav.particles, time.perf_counter() - t0, n_iter, steps=steps)

        # (ii)/(iii) Algorithm 1 with the MLP generator; (rf-ii) with the random-feature generator
        runs = [("(ii) Alg. 1 point-wise, MLP generator", "pointwise", "mlp"),
                ("(iii) Alg. 1 set-wise, MLP generator", "setwise", "mlp"),
                ("(rf-ii) Alg. 1 point-wise, random features", "pointwise", "rff")]
        for label, fitting, kind in runs:
            if kind == "mlp":
                gen = gan.MLPGenerator.from_gaussian(cfg["initial_mean"], cfg["initial_cov"], seed=1000 * seed + 4,
                                                     **cfg["generator"])
                cal = gan.NeuralCalibrator(seed=1000 * seed + 3, **cfg["calibrator"])
            else:
                gen = gan.RandomFeatureGenerator.from_gaussian(cfg["initial_mean"], cfg["initial_cov"],
                                                               seed=1000 * seed + 4, **cfg["rff_gen"])
                cal = gan.Calibrator(seed=1000 * seed + 3, **cfg["rff"])
            nav = gan.ParametricNavigator(gen, data, eps, fitting=fitting, batch_size=cfg["batch"], calibrator=cal,
                                          seed=1000 * seed + 5)
            record(label, seed, 0, gen.sample(n, seed=7))
            t0, infos, steps = time.perf_counter(), [], []
            for it in range(1, n_iter + 1):
                ts = time.perf_counter()
                infos.append(nav.step())
                steps.append(time.perf_counter() - ts)
                if it % every == 0:
                    el = time.perf_counter() - t0
                    record(label, seed, it, gen.sample(n, seed=7))
                    t0 = time.perf_counter() - el
            sec = time.perf_counter() - t0
            last = infos[-1]
            finish(label, seed, gen.sample(n, seed=7), sec, n_iter,
                   dict(fit_ratio=last["fit_residual"] / max(last["move"], 1e-300),
                        reassigned=float(np.mean([i["reassigned"] for i in infos]))), steps=steps)

        # (iv) standard alternating GAN: same networks, the same total number of discriminator steps
        cal_opts = dict(cfg["calibrator"], n_steps=5)
        gan_iter = n_iter * cfg["calibrator"]["n_steps"] // 5
        gen = gan.MLPGenerator.from_gaussian(cfg["initial_mean"], cfg["initial_cov"], seed=1000 * seed + 4,
                                             **cfg["generator"])
        cal = gan.NeuralCalibrator(seed=1000 * seed + 3, **cal_opts)
        trainer = gan.AlternatingGAN(gen, data, cal, batch_size=cfg["batch"], learning_rate=1e-3, seed=1000 * seed + 5)
        label = "(iv) alternating GAN (Adam, non-saturating)"
        record(label, seed, 0, gen.sample(n, seed=7))
        t0, steps = time.perf_counter(), []
        rec_every = max(1, gan_iter // n_iter * every)
        for it in range(1, gan_iter + 1):
            ts = time.perf_counter()
            trainer.step()
            steps.append(time.perf_counter() - ts)
            if it % rec_every == 0:
                el = time.perf_counter() - t0
                # recorded on the same "time" axis as the others: iteration * eps * n_iter / gan_iter
                record(label, seed, it * n_iter // gan_iter, gen.sample(n, seed=7))
                t0 = time.perf_counter() - el
        finish(label, seed, gen.sample(n, seed=7), time.perf_counter() - t0, gan_iter, steps=steps)

        # (cap) the MLP generator fitted directly to the data, set-wise: what the family can reach
        gen = gan.MLPGenerator.from_gaussian(cfg["initial_mean"], cfg["initial_cov"], seed=1000 * seed + 4,
                                             **dict(cfg["generator"], n_fit_steps=100))
        zc = gen.sample_latent(data.shape[0], seed=1000 * seed + 6)
        t0 = time.perf_counter()
        for _ in range(20):
            gen.theta = gen.fit_parameters(zc, data[gan.match(gen(zc), data)])
        finish("(cap) MLP generator fitted to the data", seed, gen.sample(n, seed=7), time.perf_counter() - t0, 20)
        if out is not None:  # after every seed, so that a partial run leaves its numbers
            write_csv(os.path.join(HERE, f"neural_{name}.csv"), rows)
            write_csv(os.path.join(HERE, f"history_neural_{name}.csv"), history)
    return rows, history


def run_large(name, cfg, seeds, eps=1.0):
    """Large steps (eps = 1, T = 3: three iterations), where moved points overtake each other and the
    set-wise matching re-pairs them: (i) the ODE, (ii) point-wise, (iii) set-wise (1 and 5 match/fit rounds)."""
    T = cfg["T"]
    n_iter, n = int(round(T / eps)), cfg["n"]
    met = Metrics(cfg)
    target, grid = cfg["target"], cfg["grid"]
    initial = fp.Gaussian(cfg["initial_mean"], cfg["initial_cov"])
    sol = fp.solve(target, initial, grid, T, dt=0.1, t_eval=[0.0, T])
    rows = []
    for seed in seeds:
        data = target.sample(cfg["n_data"], seed=1000 * seed + 1)
        x0 = initial.sample(n, seed=1000 * seed + 2)
        runs = [("(i) ODE, neural calibrator", None, 1), ("(ii) Alg. 1 point-wise, MLP generator", "pointwise", 1),
                ("(iii) Alg. 1 set-wise, MLP generator", "setwise", 1),
                ("(iii-5) set-wise, 5 match/fit rounds", "setwise", 5)]
        for label, fitting, rounds in runs:
            cal = gan.NeuralCalibrator(seed=1000 * seed + 3, **cfg["calibrator"])
            t0 = time.perf_counter()
            extra = {}
            if fitting is None:
                nav = gan.NonparametricNavigator(x0, data, eps, calibrator=cal)
                nav.run(n_iter)
                x = nav.particles
            else:
                gen = gan.MLPGenerator.from_gaussian(cfg["initial_mean"], cfg["initial_cov"], seed=1000 * seed + 4,
                                                     **cfg["generator"])
                nav = gan.ParametricNavigator(gen, data, eps, fitting=fitting, batch_size=cfg["batch"],
                                              calibrator=cal, match_iterations=rounds, seed=1000 * seed + 5)
                infos = nav.run(n_iter)
                x = gen.sample(n, seed=7)
                extra = dict(fit_ratio=infos[-1]["fit_residual"] / infos[-1]["move"],
                             reassigned=float(np.mean([i["reassigned"] for i in infos])))
            m = met.of_samples(x)
            rows.append(dict(target=name, method=label, seed=seed, T=T, eps=eps, iterations=n_iter, jsd=m["jsd"],
                             w1=m["w1"], w1_to_uT=met.w1(x, (grid, sol.u[-1])), modes=m["modes"],
                             near_mode=m["near_mode"], seconds=round(time.perf_counter() - t0, 2),
                             s_per_iter=np.nan, **extra))
            print(f"  [{name} eps={eps} seed {seed}] {label:38s} JSD={m['jsd']:.4f} W1={m['w1']:.3f} "
                  f"W1(u_T)={rows[-1]['w1_to_uT']:.3f} {extra}", flush=True)
        write_csv(os.path.join(HERE, f"neural_large_{name}.csv"), rows)
    return rows


def write_csv(path, records):
    keys = []
    for r in records:
        keys += [k for k in r if k not in keys]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(records)


def markdown():
    order = ["floor", "(a)", "(i)", "(rf-i)", "(ii)", "(iii)", "(iii-5)", "(rf-ii)", "(iv)", "(cap)"]
    cols = [("jsd", "JSD", 4), ("w1", "W1 to rho_d", 3), ("w1_to_uT", "W1 to u(T)", 3), ("modes", "modes", 1),
            ("near_mode", "near a mode", 3), ("s_per_iter", "s/iter", 3)]
    for name in ("bimodal1d", "ring2d", "grid25", "large_bimodal1d", "large_ring2d", "large_grid25"):
        path = os.path.join(HERE, f"neural_{name}.csv")
        if not os.path.exists(path):
            continue
        rows = list(csv.DictReader(open(path)))
        seeds = sorted({r["seed"] for r in rows if r["seed"] != ""})
        w1name = "W1" if name.endswith("1d") else "sliced W1"
        step = f", eps = {rows[0]['eps']}" if "eps" in rows[0] else ""
        print(f"\n**{name}** (T = {rows[0]['T']}{step}, seeds {', '.join(seeds)}; mean ± sd over seeds; W1 columns are "
              f"{w1name})\n")
        print("| method | " + " | ".join(c[1] for c in cols) + " | fit resid./move | reassigned |")
        print("|---" * (len(cols) + 3) + "|")
        methods = []
        for r in rows:
            if r["method"] not in methods:
                methods.append(r["method"])
        methods.sort(key=lambda m: [i for i, o in enumerate(order) if m.startswith(o)][0])
        for m in methods:
            rs = [r for r in rows if r["method"] == m]
            cells = []
            for key, _, dig in cols + [("fit_ratio", "", 2), ("reassigned", "", 3)]:
                v = np.array([float(r[key]) if r.get(key, "") not in ("", "nan") else np.nan for r in rs])
                v = v[np.isfinite(v)]
                if v.size == 0:
                    cells.append("")
                elif key == "modes":
                    cells.append(f"{v.min():.0f}-{v.max():.0f}" if v.min() != v.max() else f"{v[0]:.0f}")
                elif v.size == 1:
                    cells.append(f"{v[0]:.{dig}f}")
                else:
                    cells.append(f"{v.mean():.{dig}f} ± {v.std(ddof=1):.{dig}f}")
            print(f"| {m} | " + " | ".join(cells) + " |")


def plot(name):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(csv.DictReader(open(os.path.join(HERE, f"history_neural_{name}.csv"))))
    methods = []
    for r in rows:
        if r["method"] not in methods and not r["method"].startswith("(cap)"):
            methods.append(r["method"])
    fig, axs = plt.subplots(1, 3, figsize=(15, 4), layout="constrained")
    w1name = "W1" if name.endswith("1d") else "sliced W1"
    for m in methods:
        rs = [r for r in rows if r["method"] == m]
        ts = sorted({float(r["t"]) for r in rs})
        for ax, key in zip(axs, ("jsd", "w1", "near_mode")):
            vals = [[float(r[key]) for r in rs if float(r["t"]) == t] for t in ts]
            mean = np.array([np.mean(v) for v in vals])
            lo, hi = np.array([np.min(v) for v in vals]), np.array([np.max(v) for v in vals])
            (line,) = ax.plot(ts, mean, "o-" if m.startswith("(a)") else ".-", label=m, ms=3)
            ax.fill_between(ts, lo, hi, color=line.get_color(), alpha=0.15)
    axs[0].set_ylabel("JSD to rho_d (binned, nats)")
    axs[1].set_ylabel(f"{w1name} to rho_d (length units of x)")
    axs[2].set_ylabel("fraction of samples within 3 sd of a mode")
    for ax in axs:
        ax.set_xlabel("flow time t = iteration x eps ((iv): discriminator steps matched)")
    axs[0].set_yscale("log")
    axs[0].legend(fontsize="x-small")
    fig.suptitle(f"{name}: mean over seeds, band = min-max")
    fig.savefig(os.path.join(HERE, f"neural_{name}.png"), dpi=90)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", choices=list(configs()))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--plot", action="store_true")
    ap.add_argument("--large-step", action="store_true", help="the eps = 1 runs (neural_large_<target>.csv)")
    a = ap.parse_args(argv)
    if a.markdown:
        markdown()
        return
    if a.plot:
        for name in configs():
            if os.path.exists(os.path.join(HERE, f"history_neural_{name}.csv")):
                plot(name)
        return
    if a.large_step:
        run_large(a.target, configs()[a.target], a.seeds)
        return
    run(a.target, configs()[a.target], a.seeds, quick=a.quick, out=None if a.quick else HERE)


if __name__ == "__main__":
    main()
