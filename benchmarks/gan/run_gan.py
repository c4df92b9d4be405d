"""GANs as the ODE: the grid PDE, particles and Algorithm 1 side by side (issue 4).

For a target rho_d and an initial density rho_0 this runs, up to time T:

(a) the grid PDE solution (fp.solve, backward Euler with dt = eps_small, every step saved);
(b) particles with the exact velocity of (a) (fp.particles.simulate, velocity="grid", RK4);
(c) particles with the calibrated velocity, eq. 22 (velocity="discriminator", forward Euler: the
    nonparametric navigator, i.e. Algorithm 1 without a generator);
(d) the vanilla GAN, Algorithm 1 with point-wise MSE fitting (eq. 23) solved exactly (lstsq);
(d1) the same with ONE gradient step of eq. 23 per iteration (Algorithm 1 as written, which is the
    GAN generator step by Proposition 8);
(e) set-wise fitting: moved samples matched to the generator outputs by optimal assignment, then
    fitted (Section 3.3); (e5) five rounds of matching and refitting.

(c)-(e) are run with a small step eps_small (ODE-consistent) and (c), (d), (e), (e5) with a
large step eps_large (the regime of Section 3.3's argument). Every run starts from the same
rho_0 (the generator is initialised to produce rho_0 exactly) and uses the same data sample.

Measured at record times: binned JSD to rho_d (coarse grid, natural logs), W1 to rho_d (exact in
1-D, sliced SW1 with 64 directions in 2-D; samples against the grid density), modes covered (a
mode counts when it holds at least a quarter of its share within 3 sigma) and the fraction of
mass within 3 sigma of a mode; at the table times also W1 to the grid solution u(t). Sample-based
numbers use N points for every method; the "floor" row gives the same numbers for N i.i.d.
samples of rho_d.

Usage::

    python benchmarks/gan/run_gan.py                  # both targets, writes table/figures/history
    python benchmarks/gan/run_gan.py --target bimodal1d
    python benchmarks/gan/run_gan.py --quick          # a smoke run (short T), writes nothing
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # BLAS threads only contend on the shared 2 cores

import numpy as np  # noqa: E402

import fokkerplanck as fp  # noqa: E402
from fokkerplanck import gan  # noqa: E402
from fokkerplanck.analysis.distances import jensen_shannon, wasserstein  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


# --- configurations ---------------------------------------------------------------------------

def ring(k=8, radius=2.0, sd=0.35):
    ang = 2 * np.pi * np.arange(k) / k
    means = radius * np.stack([np.cos(ang), np.sin(ang)], axis=1)
    return fp.GaussianMixture(np.full(k, 1.0 / k), means, np.tile(sd * sd * np.eye(2), (k, 1, 1))), means, sd


def configs():
    bimodal = fp.GaussianMixture([0.5, 0.5], [[-2.0], [2.0]], [[[0.25]], [[0.25]]])
    ring8, ring_means, ring_sd = ring()
    return {
        "bimodal1d": dict(
            title="1-D bimodal: rho_d = 0.5 N(-2, 0.5^2) + 0.5 N(2, 0.5^2), rho_0 = N(0, 1.5^2)",
            target=bimodal, mode_means=np.array([[-2.0], [2.0]]), mode_sd=0.5,
            initial_mean=[0.0], initial_cov=[[2.25]],
            grid=fp.Grid([-7.0], [7.0], [1400]), coarse=20,  # JSD bins: 70 bins of width 0.2
            T=10.0, eps_small=0.05, eps_large=1.0, record_dt=0.05, table_times=(1.0, 5.0, 10.0),
            n=2000, n_data=2000, batch=1000,
            calibrator=dict(n_features=300, bandwidth=0.4, regularization=1e-3),
            generator=dict(n_features=200, bandwidth=0.3), sgd_learning_rate=0.5,
        ),
        "ring2d": dict(
            title="2-D ring of 8 Gaussians (radius 2, sd 0.35), rho_0 = N(0, 1.5^2 I)",
            target=ring8, mode_means=ring_means, mode_sd=ring_sd,
            initial_mean=[0.0, 0.0], initial_cov=2.25 * np.eye(2),
            grid=fp.Grid([-4.5, -4.5], [4.5, 4.5], [120, 120]), coarse=4,  # JSD bins: 30 x 30 of 0.3
            T=10.0, eps_small=0.1, eps_large=1.0, record_dt=0.5, table_times=(1.0, 5.0, 10.0),
            n=4000, n_data=4000, batch=1000,
            calibrator=dict(n_features=400, bandwidth=0.4, regularization=1e-3),
            generator=dict(n_features=300, bandwidth=0.5), sgd_learning_rate=0.5,
        ),
    }


# --- metrics ----------------------------------------------------------------------------------

class Metrics:
    """Distances of samples or grid densities to rho_d (and to the grid solution)."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.grid = g = cfg["grid"]
        self.rho = cfg["target"].pdf(g.points()).reshape(g.shape)
        self.rho /= self.rho.sum() * g.cell_volume
        c = cfg["coarse"]
        self.coarse = fp.Grid(g.lower, g.upper, [s // c for s in g.shape])
        self.rho_coarse = self.to_coarse(self.rho)
        self.sliced = g.ndim > 1
        pts = g.points()
        dist = np.linalg.norm(pts[:, None, :] - cfg["mode_means"][None], axis=2)
        self.cell_mode = np.where(dist.min(1) < 3 * cfg["mode_sd"], dist.argmin(1), -1)
        self.n_modes = len(cfg["mode_means"])

    def to_coarse(self, u):
        """Cell values on the fine grid -> density values on the coarse grid (block means)."""
        c, d = self.cfg["coarse"], self.grid.ndim
        shape = []
        for s in self.grid.shape:
            shape += [s // c, c]
        return u.reshape(shape).mean(axis=tuple(range(1, 2 * d, 2)))

    def w1(self, a, b):
        return wasserstein(a, b, p=1, method="sliced" if self.sliced else "auto", n_projections=64, seed=0)

    def _modes(self, masses_per_mode, near):
        share = 1.0 / self.n_modes
        return int(np.sum(masses_per_mode >= 0.25 * share)), float(near)

    def of_samples(self, x):
        dist = np.linalg.norm(x[:, None, :] - self.cfg["mode_means"][None], axis=2)
        near = dist.min(1) < 3 * self.cfg["mode_sd"]
        per_mode = np.bincount(dist.argmin(1)[near], minlength=self.n_modes) / x.shape[0]
        covered, quality = self._modes(per_mode, near.mean())
        return dict(jsd=jensen_shannon(x, (self.coarse, self.rho_coarse)), w1=self.w1(x, (self.grid, self.rho)),
                    modes=covered, near_mode=quality)

    def of_density(self, u):
        m = u.ravel() * self.grid.cell_volume
        m = m / m.sum()
        per_mode = np.bincount(self.cell_mode[self.cell_mode >= 0], weights=m[self.cell_mode >= 0],
                               minlength=self.n_modes)
        covered, quality = self._modes(per_mode, m[self.cell_mode >= 0].sum())
        return dict(jsd=jensen_shannon((self.coarse, self.to_coarse(u)), (self.coarse, self.rho_coarse)),
                    w1=self.w1((self.grid, u), (self.grid, self.rho)), modes=covered, near_mode=quality)


# --- the runs ---------------------------------------------------------------------------------

def record_steps(T, eps, record_dt):
    """Iteration numbers at which to record: every record_dt in time (and the last)."""
    n_iter = int(round(T / eps))
    every = max(1, int(round(record_dt / eps)))
    return n_iter, set(range(every, n_iter + 1, every)) | {n_iter}


def frame(sol, t):
    k = int(np.argmin(np.abs(sol.t - t)))
    assert abs(sol.t[k] - t) < 1e-9, (t, sol.t[k])
    return sol.u[k]


def run_target(name, cfg, quick=False):
    if quick:
        cfg = dict(cfg, T=1.0, table_times=(0.5, 1.0), eps_large=0.5)
    T, eps_s, eps_l = cfg["T"], cfg["eps_small"], cfg["eps_large"]
    met = Metrics(cfg)
    target, grid, n = cfg["target"], cfg["grid"], cfg["n"]
    initial = fp.Gaussian(cfg["initial_mean"], cfg["initial_cov"])
    data = target.sample(cfg["n_data"], seed=1)
    rows, history = [], []

    def add_history(method, eps, t, m, extra=None):
        history.append(dict(method=method, eps=eps, t=round(t, 10), **m, **(extra or {})))

    def add_row(method, eps, n_iter, per_time, seconds, extra=None):
        row = dict(target=name, method=method, eps=eps, iterations=n_iter, seconds=round(seconds, 1))
        for t in cfg["table_times"]:
            row[f"jsd_t{t:g}"] = per_time[t]["jsd"]
        last = per_time[cfg["table_times"][-1]]
        row.update(w1_T=last["w1"], w1_to_ode_T=last.get("w1_ode", 0.0), modes_T=last["modes"],
                   near_mode_T=last["near_mode"])
        row.update(extra or {})
        rows.append(row)
        print(f"  {method:44s} eps={eps:<5g} " + " ".join(f"JSD({t:g})={per_time[t]['jsd']:.4f}"
              for t in cfg["table_times"]) + f" W1(T)={last['w1']:.4f} W1ode={row['w1_to_ode_T']:.4f} "
              f"modes={last['modes']} near={last['near_mode']:.3f}  [{seconds:.1f} s]", flush=True)

    # floor: N iid samples of rho_d (mean over 8 draws)
    draws = [met.of_samples(target.sample(n, seed=90 + k)) for k in range(8)]
    floor = {key: float(np.mean([d[key] for d in draws])) for key in draws[0]}
    rows.append(dict(target=name, method="floor: N i.i.d. samples of rho_d", eps=0, iterations=0, seconds=0,
                     **{f"jsd_t{t:g}": floor["jsd"] for t in cfg["table_times"]}, w1_T=floor["w1"],
                     w1_to_ode_T=np.nan, modes_T=floor["modes"], near_mode_T=floor["near_mode"]))
    print(f"{name}: {cfg['title']}\n  floor (N = {n}): {floor}", flush=True)

    # (a) grid PDE, fixed steps eps_small, every step saved (drives (b) and gives u(t) at record times)
    t0 = time.perf_counter()
    sol = fp.solve(target, initial, grid, T, dt=eps_s, t_eval="steps")
    sec = time.perf_counter() - t0
    n_iter, rec = record_steps(T, eps_s, cfg["record_dt"])
    per_time = {}
    for k in sorted(rec | {0}):
        m = met.of_density(sol.u[k])
        add_history("(a) grid PDE", eps_s, sol.t[k], m)
        per_time[round(sol.t[k], 10)] = m
    ref = fp.solve(target, initial, grid, T, dt="adaptive", rtol=1e-5, t_eval=[0.0, *cfg["table_times"]])
    time_error = {t: float(wasserstein((grid, ref.u[i + 1]), (grid, frame(sol, t)), method="sliced"
                                       if grid.ndim > 1 else "auto", seed=0))
                  for i, t in enumerate(cfg["table_times"])}
    add_row("(a) grid PDE", eps_s, n_iter, per_time, sec,
            dict(note=f"backward Euler dt={eps_s}; W1 to an adaptive rtol=1e-5 run at T: "
                      f"{time_error[cfg['table_times'][-1]]:.2g}; fine-grid JSD(T) = {sol.history['jsd'][-1]:.4f}"))

    def finish(method, eps, n_iter, samples_at, seconds, extra=None):
        """samples_at: dict iteration -> samples; computes metrics, W1 to u(t) at table times."""
        per_time = {}
        for it, x in sorted(samples_at.items()):
            t = round(it * eps, 10)
            m = met.of_samples(x)
            if any(abs(t - tt) < 1e-9 for tt in cfg["table_times"]):
                m["w1_ode"] = met.w1(x, (grid, frame(sol, t)))
            add_history(method, eps, t, m, (extra or {}).get("per_iter", {}).get(it))
            per_time[t] = m
        add_row(method, eps, n_iter, per_time, seconds, (extra or {}).get("row"))
        _final_samples[(method, eps)] = samples_at[n_iter]

    # (b) particles with the exact velocity of (a)
    t0 = time.perf_counter()
    ens = fp.particles.simulate(target, initial, T, n=n, velocity="grid", solution=sol, dt=eps_s, method="rk4",
                                seed=2, t_eval=[k * eps_s for k in sorted(rec | {0})])
    sec = time.perf_counter() - t0
    finish("(b) particles, exact velocity (RK4)", eps_s, n_iter,
           {int(round(t / eps_s)): x for t, x in zip(ens.t, ens.positions)}, sec)

    # (c) particles with the calibrated velocity (eq. 22, forward Euler = Algorithm 1 without G)
    for eps in (eps_s, eps_l):
        n_iter, rec = record_steps(T, eps, cfg["record_dt"])
        t0 = time.perf_counter()
        ens = fp.particles.simulate(None, initial, T, n=n, velocity="discriminator", data=data, dt=eps,
                                    method="euler", seed=3, t_eval=[k * eps for k in sorted(rec | {0})],
                                    velocity_options=cfg["calibrator"])
        sec = time.perf_counter() - t0
        finish("(c) particles, calibrated velocity (Euler)", eps, n_iter,
               {int(round(t / eps)): x for t, x in zip(ens.t, ens.positions)}, sec)

    # (d), (d1), (e), (e5): Algorithm 1 with a random-feature generator
    variants = [("(d) GAN point-wise MSE (lstsq)", eps_s, dict(fitting="pointwise")),
                ("(d1) GAN point-wise, 1 gradient step/iter", eps_s,
                 dict(fitting="pointwise", fit_method="gradient", learning_rate=cfg["sgd_learning_rate"])),
                ("(e) GAN set-wise (match, then lstsq)", eps_s, dict(fitting="setwise")),
                ("(d) GAN point-wise MSE (lstsq)", eps_l, dict(fitting="pointwise")),
                ("(e) GAN set-wise (match, then lstsq)", eps_l, dict(fitting="setwise")),
                ("(e5) GAN set-wise, 5 match/fit rounds", eps_l, dict(fitting="setwise", match_iterations=5))]
    for method, eps, options in variants:
        n_iter, rec = record_steps(T, eps, cfg["record_dt"])
        gen = gan.RandomFeatureGenerator.from_gaussian(cfg["initial_mean"], cfg["initial_cov"], seed=4,
                                                       **cfg["generator"])
        z_eval = gen.sample_latent(n, seed=5)
        nav = gan.ParametricNavigator(gen, data, eps, batch_size=cfg["batch"], ridge=1e-6,
                                      calibrator=gan.Calibrator(seed=6, **cfg["calibrator"]), seed=7, **options)
        samples, infos = {0: gen(z_eval)}, {}
        t0 = time.perf_counter()
        for it in range(1, n_iter + 1):
            info = nav.step()
            if it in rec:
                samples[it] = gen(z_eval)
                infos[it] = dict(move=info["move"], fit_residual=info["fit_residual"], reassigned=info["reassigned"])
        sec = time.perf_counter() - t0
        last = infos[n_iter]
        finish(method, eps, n_iter, samples, sec,
               dict(per_iter=infos, row=dict(fit_residual_over_move_T=last["fit_residual"] / last["move"],
                                             reassigned_T=last["reassigned"])))
    # (cap) what the generator family can reach at all: set-wise fit directly to the data (10 rounds of
    # matching and least squares from the initial generator; in 1-D the first round already gives the
    # monotone rearrangement)
    gen = gan.RandomFeatureGenerator.from_gaussian(cfg["initial_mean"], cfg["initial_cov"], seed=4, **cfg["generator"])
    t0 = time.perf_counter()
    zc = gen.sample_latent(cfg["n_data"], seed=8)
    for _ in range(10):
        gen.theta = gan.fit_generator(gen, zc, data[gan.match(gen(zc), data)], ridge=1e-6)
    sec = time.perf_counter() - t0
    m = met.of_samples(gen(gen.sample_latent(n, seed=5)))
    rows.append(dict(target=name, method="(cap) generator capacity: set-wise fit to the data", eps=0, iterations=10,
                     seconds=round(sec, 1), **{f"jsd_t{t:g}": m["jsd"] for t in cfg["table_times"]}, w1_T=m["w1"],
                     w1_to_ode_T=np.nan, modes_T=m["modes"], near_mode_T=m["near_mode"]))
    print(f"  (cap) generator capacity: {m}  [{sec:.1f} s]", flush=True)
    return rows, history, sol, met


# --- output -----------------------------------------------------------------------------------

def write_csv(path, records):
    keys = []
    for r in records:
        keys += [k for k in r if k not in keys]
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        for r in records:
            w.writerow({k: (f"{v:.5g}" if isinstance(v, float) else v) for k, v in r.items()})


COLORS = {"(a)": "k", "(b)": "tab:gray", "(c)": "tab:blue", "(d)": "tab:red", "(d1)": "tab:orange",
          "(e)": "tab:green", "(e5)": "tab:olive", "(cap)": "tab:purple"}


def plot_target(name, cfg, history, sol, met, rows, path):
    """Curves against t: binned JSD, W1 to rho_d, and the GAN fit residual relative to the move."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = []
    for h in history:
        key = (h["method"], h["eps"])
        if key not in methods:
            methods.append(key)
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    floor = next(r for r in rows if r["method"].startswith("floor"))
    cap = next((r for r in rows if r["method"].startswith("(cap)")), None)
    panels = (("jsd", axes[0], "binned JSD to rho_d"),
              ("w1", axes[1], "W1 to rho_d" + (" (sliced, 64 directions)" if sol.grid.ndim > 1 else "")),
              ("ratio", axes[2], "GAN: RMS fit residual / RMS move (eq. 22-23)"))
    for key, ax, label in panels:
        for method, eps in methods:
            sel = [h for h in history if h["method"] == method and h["eps"] == eps]
            if key == "ratio":
                sel = [h for h in sel if h.get("move")]
                if not sel:
                    continue
                t, v = np.array([(h["t"], h["fit_residual"] / h["move"]) for h in sel]).T
            else:
                t, v = np.array([(h["t"], h[key]) for h in sel]).T
            tag = method.split()[0]
            ax.plot(t, v, "-" if eps == cfg["eps_small"] else "--", color=COLORS[tag], lw=1.4,
                    label=f"{method}, eps={eps:g}")
        if key != "ratio":
            ax.set_yscale("log")
            ax.axhline(floor["w1_T" if key == "w1" else f"jsd_t{cfg['table_times'][-1]:g}"], color="k", lw=0.8,
                       ls=":", label=f"floor: N = {cfg['n']} i.i.d. samples of rho_d")
            if cap is not None:
                ax.axhline(cap["w1_T" if key == "w1" else f"jsd_t{cfg['table_times'][-1]:g}"], color=COLORS["(cap)"],
                           lw=0.8, ls="-.", label="generator capacity (set-wise fit to the data)")
        else:
            ax.axhline(1.0, color="k", lw=0.6, ls=":")
            ax.set_ylim(0, 1.6)
        ax.set_xlabel("t (= iterations x eps)")
        ax.set_title(label, fontsize=10)
    axes[0].legend(fontsize=6.3, loc="upper right")
    fig.suptitle(cfg["title"], fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_samples(name, cfg, sol, met, path):
    """Final samples of every method next to the grid solution u(T)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in _final_samples if not k[0].startswith("(a)")]
    ncol = 4
    nrow = -(-len(keys) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4 * ncol, 3.6 * nrow), squeeze=False)
    T = cfg["T"]
    u = frame(sol, T)
    for ax, (method, eps) in zip(axes.ravel(), keys):
        x = _final_samples[(method, eps)]
        color = COLORS[method.split()[0]]
        if sol.grid.ndim == 1:
            ax.plot(sol.grid.axes[0], met.rho, "k:", lw=1, label="rho_d")
            ax.plot(sol.grid.axes[0], u, "k", lw=1, label=f"grid u(T)")
            ax.hist(x[:, 0], np.linspace(-5, 5, 101), density=True, color=color, alpha=0.6)
            ax.set_xlim(-5, 5)
            ax.set_ylim(0, 1.0)
            ax.legend(fontsize=6)
        else:
            ax.contour(*sol.grid.meshgrid(), u, levels=6, colors="k", linewidths=0.6)
            ax.plot(x[:1500, 0], x[:1500, 1], ".", ms=1.5, color=color, alpha=0.7)
            ax.set_aspect("equal")
            ax.set_xlim(-4, 4)
            ax.set_ylim(-4, 4)
        ax.set_title(f"{method}, eps={eps:g}" if eps else method, fontsize=8)
    for ax in axes.ravel()[len(keys):]:
        ax.axis("off")
    fig.suptitle(f"{cfg['title']}: samples at T = {T:g} (black: grid solution u(T))", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


_final_samples = {}


def markdown(csv_path):
    """The table of (a)-(e) as markdown, from table.csv."""
    with open(csv_path) as fh:
        rows = list(csv.DictReader(fh))

    def num(v, fmt):
        try:
            x = float(v)
        except (TypeError, ValueError):
            return ""
        return "" if np.isnan(x) else format(x, fmt)

    out = ["| target | method | eps | JSD t=1 | JSD t=5 | JSD t=10 | W1 to rho_d, t=10 | W1 to u(10) | modes | "
           "near a mode | fit resid./move | reassigned | s |", "|---" * 13 + "|"]
    for r in rows:
        static = not float(r["eps"])  # floor and capacity rows: one value, shown at t = 10
        out.append(f"| {r['target']} | {r['method']} | {'' if static else num(r['eps'], 'g')} | "
                   f"{'' if static else num(r['jsd_t1'], '.4f')} | {'' if static else num(r['jsd_t5'], '.4f')} | "
                   f"{num(r['jsd_t10'], '.4f')} | "
                   f"{num(r['w1_T'], '.3f')} | {num(r['w1_to_ode_T'], '.3f')} | {num(r['modes_T'], 'g')} | "
                   f"{num(r['near_mode_T'], '.3f')} | {num(r.get('fit_residual_over_move_T'), '.2f')} | "
                   f"{num(r.get('reassigned_T'), '.3f')} | {r['seconds']} |")
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", choices=["bimodal1d", "ring2d", "all"], default="all")
    ap.add_argument("--quick", action="store_true", help="short smoke run; writes nothing")
    ap.add_argument("--outdir", default=HERE)
    ap.add_argument("--markdown", action="store_true", help="print table.csv as markdown and exit")
    args = ap.parse_args(argv)
    if args.markdown:
        print(markdown(os.path.join(args.outdir, "table.csv")))
        return 0
    cfgs = configs()
    names = list(cfgs) if args.target == "all" else [args.target]
    all_rows = []
    for name in names:
        t0 = time.perf_counter()
        rows, history, sol, met = run_target(name, cfgs[name], quick=args.quick)
        print(f"{name}: total {time.perf_counter() - t0:.0f} s", flush=True)
        all_rows += rows
        if not args.quick:
            write_csv(os.path.join(args.outdir, f"history_{name}.csv"), history)
            plot_target(name, cfgs[name], history, sol, met, rows, os.path.join(args.outdir, f"{name}.png"))
            plot_samples(name, cfgs[name], sol, met, os.path.join(args.outdir, f"{name}_samples.png"))
        _final_samples.clear()
    if not args.quick:
        path = os.path.join(args.outdir, "table.csv" if args.target == "all" else f"table_{args.target}.csv")
        write_csv(path, all_rows)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
