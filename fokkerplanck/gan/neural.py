r"""Neural networks as the calibrator and the generator of Section 3 (JAX + optax; extra ``gan``).

The random-feature calibrator and the linear-in-parameters generator of
:mod:`fokkerplanck.gan.calibrator` / :mod:`~fokkerplanck.gan.generators` are convex stand-ins.
GAN practice uses neural networks trained by stochastic gradients; this module provides them with
the same interfaces, so that they plug into ``fp.particles.simulate(velocity="discriminator",
velocity_options=dict(calibrator="neural", ...))`` and into the navigators of Algorithm 1.

* :class:`NeuralCalibrator`: an MLP logit :math:`f(x)`, :math:`D = \sigma(f)`, trained by Adam on
  the class-balanced logistic loss (the negative of eq. 21) of samples of :math:`\rho_d` against
  samples of :math:`u`, warm-started from the previous fit as in GAN training. The velocity of
  eq. 20/22 is :math:`\nabla D / (2(1-D)) = \tfrac12 D\,\nabla f`, with :math:`\nabla f` the
  network's *input* gradient (automatic differentiation);
* :class:`MLPGenerator`: :math:`G_\theta(z) = b + A z + \mathrm{MLP}(z)` (an affine skip plus an
  MLP), so that :meth:`MLPGenerator.from_gaussian` reproduces a Gaussian exactly (last MLP layer
  zero); its eq. 23 fit is ``n_fit_steps`` steps of SGD or Adam on the MSE;
* :func:`mse_gradient` and :func:`gan_generator_gradient`: the two gradients of Proposition 8;
* :class:`AlternatingGAN`: the standard GAN training loop (alternating Adam steps, the
  non-saturating generator loss :math:`-\frac1m\sum\ln D(G(z_i))`), for comparison;
* :func:`neural_discriminator_velocity`: the velocity field ``field(t, x)`` of particles.

Importing this module enables JAX's 64-bit mode (``jax_enable_x64``) for the whole process: the
package computes in float64 and the gradient checks (finite differences, Proposition 8 to
round-off) need it. Everything is seeded (``seed`` draws the initial weights and minibatches);
on CPU a seeded run is bit-reproducible.

References
----------
Y.-J. Huang and Y. Zhang, "GANs as Gradient Flows that Converge", JMLR 24(217), 2023, Section 3,
eq. 20-24, Algorithm 1, Proposition 8. I. Goodfellow et al., "Generative Adversarial Nets",
NeurIPS 2014 (the non-saturating loss).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from .. import _validation as _v

try:
    import jax
    import optax
except ImportError as exc:  # the extra "gan" is not installed
    raise ImportError("the neural calibrator and generator (fokkerplanck.gan.neural) need the optional "
                      f"dependencies 'jax' and 'optax' ({exc.name!r} is not installed); install them with: "
                      "pip install 'fokkerplanck[gan]'") from exc
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

from .calibrator import CalibratedVelocity, _feature_seed  # noqa: E402
from .generators import gaussian_factor  # noqa: E402

__all__ = ["NeuralCalibrator", "MLPGenerator", "AlternatingGAN", "neural_discriminator_velocity",
           "mse_gradient", "gan_generator_gradient"]

_ACTIVATIONS = {"silu": jax.nn.silu, "tanh": jnp.tanh, "softplus": jax.nn.softplus, "gelu": jax.nn.gelu}


def _key(seed):
    """A JAX PRNG key from an int, a numpy Generator/SeedSequence or None."""
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return jax.random.PRNGKey(int(seed) % (2**63))
    if seed is None or isinstance(seed, (np.random.Generator, np.random.SeedSequence)):
        return jax.random.PRNGKey(int(np.random.default_rng(seed).integers(2**62)))
    raise ValueError(f"seed must be an int, a numpy Generator or None, got {seed!r}.")


def _hidden(hidden):
    hidden = tuple(int(h) for h in np.atleast_1d(hidden))
    if not hidden or any(h < 1 for h in hidden):
        raise ValueError(f"hidden must be a non-empty sequence of positive layer widths, got {hidden!r}.")
    return hidden


def _activation(name):
    return _v.choice("activation", name, tuple(_ACTIVATIONS))


def _init_mlp(key, sizes, zero_last=False):
    """LeCun-normal weights, zero biases: a list of (W, b)."""
    params = []
    for k, (a, b) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
        params.append((jax.random.normal(k, (a, b)) / np.sqrt(a), jnp.zeros(b)))
    if zero_last:
        w, b = params[-1]
        params[-1] = (jnp.zeros_like(w), jnp.zeros_like(b))
    return params


def _mlp(params, x, act):
    for w, b in params[:-1]:
        x = act(x @ w + b)
    w, b = params[-1]
    return x @ w + b


def _weights_sq(params):
    return sum(jnp.sum(w * w) for w, _ in params)


def _finite(tree) -> bool:
    return all(bool(np.all(np.isfinite(np.asarray(leaf)))) for leaf in jax.tree_util.tree_leaves(tree))


# --- the calibrator ---------------------------------------------------------------------------------
# Module-level compiled functions with the hyper-parameters static: every calibrator with the same
# settings and sample shapes shares one compilation (JAX compile time is seconds on CPU).

def _logit(params, shift, scale, x, act):
    return _mlp(params, (x - shift) / scale, _ACTIVATIONS[act])[:, 0]


def _calibrator_loss(params, shift, scale, xd, xu, act, weight_decay):
    fd, fu = _logit(params, shift, scale, xd, act), _logit(params, shift, scale, xu, act)
    return (0.5 * jnp.mean(jax.nn.softplus(-fd)) + 0.5 * jnp.mean(jax.nn.softplus(fu))
            + 0.5 * weight_decay * _weights_sq(params))


@partial(jax.jit, static_argnums=(7, 8, 9, 10))
def _train(params, state, key, shift, scale, xd, xu, act, batch_size, weight_decay, learning_rate, n):
    # n is traced (a while loop): the first fit and the warm refits share one compilation
    optimizer = optax.adam(learning_rate)

    def body(i, carry):
        p, s = carry
        k = jax.random.fold_in(key, i)
        if batch_size is None:
            bd, bu = xd, xu
        else:
            kd, ku = jax.random.split(k)
            bd = xd[jax.random.randint(kd, (batch_size,), 0, xd.shape[0])]
            bu = xu[jax.random.randint(ku, (batch_size,), 0, xu.shape[0])]
        g = jax.grad(_calibrator_loss)(p, shift, scale, bd, bu, act, weight_decay)
        upd, s = optimizer.update(g, s, p)
        return optax.apply_updates(p, upd), s

    params, state = jax.lax.fori_loop(0, n, body, (params, state))
    return params, state, _calibrator_loss(params, shift, scale, xd, xu, act, weight_decay)


_logit_jit = jax.jit(_logit, static_argnums=4)
_logit_grad = jax.jit(jax.grad(lambda p, s, c, x, act: jnp.sum(_logit(p, s, c, x, act)), argnums=3),
                      static_argnums=4)


class NeuralCalibrator:
    r"""Estimate :math:`D = \rho_d/(\rho_d + u)` with an MLP logit, trained by Adam; warm-started.

    The logit is :math:`f(x) = \mathrm{MLP}((x - s)/c)` with the shift s and scale c of the data at
    the first fit (fixed afterwards), and :math:`D = \sigma(f)`. Each :meth:`fit` takes Adam steps on

    .. math::

        L = \tfrac12\,\frac1{n_d}\sum_i \ln\big(1 + e^{-f(x_i)}\big)
          + \tfrac12\,\frac1{n_u}\sum_j \ln\big(1 + e^{f(y_j)}\big) + \tfrac{\lambda}{2}\sum |W|^2,

    :math:`x_i \sim \rho_d`, :math:`y_j \sim u` (class-balanced, so the population minimiser is
    :math:`D = \rho_d/(\rho_d + u)` for any sample sizes; the penalty is on the weight matrices).
    The first fit takes ``n_initial_steps`` steps, every later one ``n_steps`` from the previous
    weights and optimizer state (``warm_start=True``, as in GAN training: the discriminator
    follows the moving generator). Unlike :class:`~fokkerplanck.gan.calibrator.Calibrator` the
    problem is not convex and is not solved to optimality: accuracy is a matter of steps.

    Parameters
    ----------
    hidden : sequence of int
        Hidden layer widths (default (64, 64)).
    activation : {"silu", "tanh", "softplus", "gelu"}
        Smooth activations only: the velocity is the input gradient (default "silu").
    learning_rate : float
        Adam's learning rate (default 3e-3).
    n_initial_steps, n_steps : int
        Adam steps of the first fit and of every warm-started refit (defaults 1000, 50).
    batch_size : int or None
        Minibatch per class per step (drawn with replacement); None (default): full batch.
    weight_decay : float
        :math:`\lambda \ge 0` (default 1e-4).
    seed : int, numpy Generator or None
        Initial weights and minibatches.
    warm_start : bool
        Default True; False re-initialises and takes ``n_initial_steps`` at every fit.

    Attributes
    ----------
    params : list of (W, b) or None
    n_iter_, loss_, converged_, n_fits_ : int, float, bool, int
        Steps and final loss of the last fit (``converged_`` is always True: a fixed number of
        steps), and the number of fits. The names match :class:`Calibrator`.
    """

    def __init__(self, hidden=(64, 64), activation="silu", learning_rate=3e-3, n_initial_steps=1000, n_steps=50,
                 batch_size=None, weight_decay=1e-4, seed=None, warm_start=True):
        self.hidden = _hidden(hidden)
        self.activation = _activation(activation)
        self.learning_rate = _v.positive_number("learning_rate", learning_rate)
        self.n_initial_steps = _v.positive_int("n_initial_steps", n_initial_steps)
        self.n_steps = _v.positive_int("n_steps", n_steps)
        self.batch_size = None if batch_size is None else _v.positive_int("batch_size", batch_size)
        self.weight_decay = _v.positive_number("weight_decay", weight_decay, allow_zero=True)
        self.seed = seed
        self.warm_start = bool(warm_start)
        self.params = None
        self.dim = None
        self.n_iter_, self.loss_, self.converged_, self.n_fits_ = 0, np.nan, True, 0
        self._key = _key(seed)
        self._optimizer = optax.adam(self.learning_rate)
        self._static = (self.activation, self.batch_size, self.weight_decay, self.learning_rate)

    # -- fitting -----------------------------------------------------------------------------
    def _initialise(self, data):
        self.dim = data.shape[1]
        self._shift = jnp.asarray(data.mean(axis=0))
        scale = float(np.mean(data.std(axis=0)))
        self._scale = jnp.asarray(scale if scale > 0 else 1.0)
        self._key, k = jax.random.split(self._key)
        self.params = _init_mlp(k, (self.dim, *self.hidden, 1))
        self._state = self._optimizer.init(self.params)

    def fit(self, data, samples):
        """Train D on ``data`` (samples of rho_d, (n_d, d)) against ``samples`` (of u, (n_u, d)). Returns self."""
        data = _v.as_samples(data, "data")
        samples = _v.as_samples(samples, "samples", data.shape[1])
        if self.params is not None and data.shape[1] != self.dim:
            raise ValueError(f"this calibrator was fitted on {self.dim}-dimensional samples; "
                             f"got {data.shape[1]}-dimensional data.")
        if self.params is None or not self.warm_start:
            self._initialise(data)
            n = self.n_initial_steps
        else:
            n = self.n_steps
        self._key, k = jax.random.split(self._key)
        self.params, self._state, loss = _train(self.params, self._state, k, self._shift, self._scale,
                                                jnp.asarray(data), jnp.asarray(samples), *self._static, n)
        self.n_iter_, self.loss_ = n, float(loss)
        self.n_fits_ += 1
        if not np.isfinite(self.loss_):
            raise FloatingPointError("the neural calibrator's loss became non-finite; lower learning_rate.")
        return self

    # -- evaluation ----------------------------------------------------------------------------
    def _check_fitted(self, x):
        if self.params is None:
            raise ValueError("the calibrator is not fitted yet; call fit(data, samples) first.")
        return _v.as_samples(x, "x", self.dim)

    def logit_jax(self, x):
        """The logit f(x) as a JAX function of a JAX array x (differentiable; for composition)."""
        return _logit(self.params, self._shift, self._scale, x, self.activation)

    def logit(self, x) -> np.ndarray:
        r"""The logit :math:`f(x) = \ln(D/(1-D)) \approx \ln(\rho_d/u)`, shape (n,)."""
        x = self._check_fitted(x)
        return np.asarray(_logit_jit(self.params, self._shift, self._scale, jnp.asarray(x), self.activation))

    def logit_gradient(self, x) -> np.ndarray:
        r""":math:`\nabla f(x)` (the network's input gradient), shape (n, d)."""
        x = self._check_fitted(x)
        return np.asarray(_logit_grad(self.params, self._shift, self._scale, jnp.asarray(x), self.activation))

    def __call__(self, x) -> np.ndarray:
        """The discriminator D(x) in (0, 1), shape (n,)."""
        f = self.logit(x)
        return 0.5 * (1.0 + np.tanh(0.5 * f))

    discriminator = __call__

    def log_one_minus(self, x) -> np.ndarray:
        r""":math:`\ln(1 - D(x)) = -\ln(1 + e^{f(x)})`, shape (n,)."""
        return -np.logaddexp(0.0, self.logit(x))

    def gradient(self, x) -> np.ndarray:
        r""":math:`\nabla D = D(1-D)\nabla f`, shape (n, d)."""
        d = self(x)
        return (d * (1.0 - d))[:, None] * self.logit_gradient(x)

    def velocity(self, x) -> np.ndarray:
        r"""The velocity of eq. 20/22, :math:`\nabla D/(2(1-D)) = \tfrac12 D\,\nabla f`, shape (n, d)."""
        return 0.5 * self(x)[:, None] * self.logit_gradient(x)

    def __repr__(self):
        return (f"NeuralCalibrator(hidden={self.hidden}, activation={self.activation!r}, "
                f"learning_rate={self.learning_rate}, n_steps={self.n_steps}, seed={self.seed!r})")


_NEURAL_OPTIONS = ("hidden", "activation", "learning_rate", "n_initial_steps", "n_steps", "batch_size",
                   "weight_decay", "warm_start")


def neural_discriminator_velocity(data, seed=None, **calibrator_options) -> CalibratedVelocity:
    r"""Velocity field ``field(t, x)`` of particles driven by a :class:`NeuralCalibrator` (eq. 20, 22).

    As :func:`fokkerplanck.gan.discriminator_velocity`, with the MLP calibrator: at every call it is
    trained (warm-started, ``n_steps`` Adam steps) on ``data`` against the particles ``x``, and
    :math:`\tfrac12 D\nabla f` is returned at ``x``. ``calibrator_options`` are those of
    :class:`NeuralCalibrator`; an int ``seed`` is decorrelated from ``default_rng(seed)``.
    """
    data = _v.as_samples(data, "data")
    unknown = set(calibrator_options) - set(_NEURAL_OPTIONS)
    if unknown:
        raise ValueError(f"unknown neural calibrator option(s) {sorted(unknown)}; valid: {', '.join(_NEURAL_OPTIONS)}.")
    return CalibratedVelocity(data, NeuralCalibrator(seed=_feature_seed(seed), **calibrator_options))


# --- the generator ----------------------------------------------------------------------------------

def _forward(theta, z, act):
    return theta["b"] + z @ theta["A"] + _mlp(theta["mlp"], z, _ACTIVATIONS[act])


def _mse(theta, z, y, act):
    r = _forward(theta, z, act) - y
    return jnp.mean(jnp.sum(r * r, axis=1))


def _generator_optimizer(name, learning_rate):
    return optax.adam(learning_rate) if name == "adam" else optax.sgd(learning_rate)


@partial(jax.jit, static_argnums=(4, 5, 6))
def _generator_fit(theta, state, z, y, act, optimizer, learning_rate, n):
    opt = _generator_optimizer(optimizer, learning_rate)

    def body(_, carry):
        p, s = carry
        upd, s = opt.update(jax.grad(_mse)(p, z, y, act), s, p)
        return optax.apply_updates(p, upd), s

    return jax.lax.fori_loop(0, n, body, (theta, state))


_forward_jit = jax.jit(_forward, static_argnums=2)


class MLPGenerator:
    r"""A neural generator :math:`G_\theta(z) = b + A^\top z + \mathrm{MLP}(z)`, :math:`z \sim N(0, I_n)`.

    :math:`\theta = (b, A, \text{MLP weights})` is a dict (a JAX pytree). The affine skip lets
    :meth:`from_gaussian` start from a Gaussian exactly; the MLP adds the nonlinearity.

    The fit of eq. 23 (:meth:`fit_parameters`, used by
    :class:`~fokkerplanck.gan.navigators.ParametricNavigator`) takes ``n_fit_steps`` steps of
    ``optimizer`` on :math:`\frac1m\sum_i |G_\theta(z_i) - y_i|^2` from the current parameters. With
    ``optimizer="sgd"`` and one step this is Algorithm 1 as written, i.e. (Proposition 8)
    :math:`\varepsilon` times the vanilla GAN generator step; ``"adam"`` keeps its moment estimates
    across fits (as a GAN's generator optimizer does).

    Parameters
    ----------
    latent_dim, dim : int
    hidden : sequence of int
        Widths of the MLP (default (64, 64)).
    activation : {"silu", "tanh", "softplus", "gelu"}
    optimizer : {"adam", "sgd"}
    learning_rate : float
        Default 1e-3.
    n_fit_steps : int
        Steps per :meth:`fit_parameters` (default 1).
    seed : int, numpy Generator or None
        Initial weights.
    """

    def __init__(self, latent_dim, dim, hidden=(64, 64), activation="silu", optimizer="adam", learning_rate=1e-3,
                 n_fit_steps=1, seed=None):
        self.latent_dim = _v.positive_int("latent_dim", latent_dim)
        self.dim = _v.positive_int("dim", dim)
        self.hidden = _hidden(hidden)
        self.activation = _activation(activation)
        self.optimizer = _v.choice("optimizer", optimizer, ("adam", "sgd"))
        self.learning_rate = _v.positive_number("learning_rate", learning_rate)
        self.n_fit_steps = _v.positive_int("n_fit_steps", n_fit_steps)
        self.seed = seed
        k1, k2 = jax.random.split(_key(seed))
        n, d = self.latent_dim, self.dim
        self.theta = dict(b=jnp.zeros(d), A=jax.random.normal(k1, (n, d)) / np.sqrt(n),
                          mlp=_init_mlp(k2, (n, *self.hidden, d)))
        self._opt = _generator_optimizer(self.optimizer, self.learning_rate)
        self._opt_state = self._opt.init(self.theta)
        self._forward = partial(_forward, act=self.activation)
        self._mse = partial(_mse, act=self.activation)

    @classmethod
    def from_gaussian(cls, mean, cov, latent_dim=None, **options):
        r"""A generator whose output is exactly :math:`N(\text{mean}, \text{cov})` at the start:
        :math:`b` = mean, :math:`A^\top A` = cov (Cholesky), MLP output layer zero (its hidden layers
        are random, so the gradient reaches them after the first step)."""
        mean, chol, n, d = gaussian_factor(mean, cov, latent_dim)
        gen = cls(n, d, **options)
        a = np.zeros((n, d))
        a[:d] = chol.T
        mlp = list(gen.theta["mlp"])
        w, b = mlp[-1]
        mlp[-1] = (jnp.zeros_like(w), jnp.zeros_like(b))
        gen.theta = dict(b=jnp.asarray(mean), A=jnp.asarray(a), mlp=mlp)
        return gen

    @property
    def n_params(self) -> int:
        return int(sum(np.size(leaf) for leaf in jax.tree_util.tree_leaves(self.theta)))

    def __call__(self, z, theta=None) -> np.ndarray:
        """G_theta(z), shape (m, d) (the current theta unless given)."""
        z = _v.as_samples(z, "z", self.latent_dim)
        return np.asarray(_forward_jit(self.theta if theta is None else theta, jnp.asarray(z), self.activation))

    def sample_latent(self, m, seed=None) -> np.ndarray:
        """``m`` draws of z ~ N(0, I_n), shape (m, n) (numpy; ``seed`` as numpy's default_rng)."""
        m = _v.positive_int("m", m)
        return np.random.default_rng(seed).standard_normal((m, self.latent_dim))

    def sample(self, m, seed=None) -> np.ndarray:
        """``m`` generated samples G(z), shape (m, d)."""
        return self(self.sample_latent(m, seed))

    def fit_parameters(self, z, y, n_steps=None):
        r"""Parameters after ``n_steps`` (default ``n_fit_steps``) optimizer steps on the MSE of eq. 23
        from the current ``theta`` toward the targets ``y`` (shape (m, d)). The generator's
        ``theta`` is not changed; the optimizer's state is (so Adam's moments persist across fits)."""
        z = _v.as_samples(z, "z", self.latent_dim)
        y = _v.as_samples(y, "y", self.dim)
        if y.shape[0] != z.shape[0]:
            raise ValueError(f"z and y must have the same number of rows, got {z.shape[0]} and {y.shape[0]}.")
        n = self.n_fit_steps if n_steps is None else _v.positive_int("n_steps", n_steps)
        theta, self._opt_state = _generator_fit(self.theta, self._opt_state, jnp.asarray(z), jnp.asarray(y),
                                                self.activation, self.optimizer, self.learning_rate, n)
        return theta

    def parameters_finite(self, theta) -> bool:
        return _finite(theta)

    def copy(self):
        """A copy with its own parameters and optimizer state."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.theta = jax.tree_util.tree_map(lambda a: a, self.theta)
        new._opt_state = jax.tree_util.tree_map(lambda a: a, self._opt_state)
        return new

    def __repr__(self):
        return (f"MLPGenerator(latent_dim={self.latent_dim}, dim={self.dim}, hidden={self.hidden}, "
                f"optimizer={self.optimizer!r}, learning_rate={self.learning_rate}, n_fit_steps={self.n_fit_steps})")


def _flat(tree) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(leaf)) for leaf in jax.tree_util.tree_leaves(tree)])


def mse_gradient(generator, z, y, flat=True):
    r""":math:`\nabla_\theta \frac1m\sum_i |G_\theta(z_i) - y_i|^2` at the generator's theta (eq. 23),
    flattened to a vector (``flat=True``) or as a pytree."""
    g = jax.grad(generator._mse)(generator.theta, jnp.asarray(z, dtype=float), jnp.asarray(y, dtype=float))
    return _flat(g) if flat else g


def gan_generator_gradient(generator, calibrator, z, loss="saturating", flat=True):
    r"""Gradient in theta of the GAN generator loss, through both networks (automatic differentiation).

    ``loss="saturating"``: :math:`\frac1m\sum_i \ln(1 - D(G_\theta(z_i)))` (eq. 24, the loss of
    Proposition 8); ``"nonsaturating"``: :math:`-\frac1m\sum_i \ln D(G_\theta(z_i))`. ``calibrator``
    is a fitted :class:`NeuralCalibrator`.
    """
    loss = _v.choice("loss", loss, ("saturating", "nonsaturating"))

    def objective(theta):
        f = calibrator.logit_jax(generator._forward(theta, jnp.asarray(z, dtype=float)))
        if loss == "saturating":
            return -jnp.mean(jax.nn.softplus(f))
        return jnp.mean(jax.nn.softplus(-f))

    g = jax.grad(objective)(generator.theta)
    return _flat(g) if flat else g


# --- standard GAN training ----------------------------------------------------------------------------

def _gan_generator_loss(theta, params, shift, scale, z, gen_act, cal_act, loss):
    f = _logit(params, shift, scale, _forward(theta, z, gen_act), cal_act)
    return -jnp.mean(jax.nn.softplus(f)) if loss == "saturating" else jnp.mean(jax.nn.softplus(-f))


@partial(jax.jit, static_argnums=(6, 7, 8, 9))
def _gan_generator_steps(theta, state, params, shift, scale, z, gen_act, cal_act, loss, learning_rate, n):
    opt = optax.adam(learning_rate, b1=0.5, b2=0.999)

    def body(_, carry):
        p, s = carry
        g = jax.grad(_gan_generator_loss)(p, params, shift, scale, z, gen_act, cal_act, loss)
        upd, s = opt.update(g, s, p)
        return optax.apply_updates(p, upd), s

    theta, state = jax.lax.fori_loop(0, n, body, (theta, state))
    return theta, state, _gan_generator_loss(theta, params, shift, scale, z, gen_act, cal_act, loss)


class AlternatingGAN:
    r"""Standard GAN training as people run it: alternate discriminator and generator Adam steps.

    One iteration (:meth:`step`): draw m latent samples and a data minibatch; train the
    discriminator (``calibrator``, a :class:`NeuralCalibrator`: its ``n_steps`` Adam steps,
    warm-started) on data vs :math:`G(z)`; then ``n_generator_steps`` Adam steps of the generator on
    the non-saturating loss :math:`-\frac1m\sum_i \ln D(G_\theta(z_i))` (Goodfellow et al. 2014),
    with the same z. There is no step size :math:`\varepsilon` and no clock t: the iteration count
    is the only time.

    Parameters
    ----------
    generator : MLPGenerator
        Modified in place.
    data : array_like, shape (n_d, d)
    calibrator : NeuralCalibrator
    batch_size : int
        m (default 1000).
    data_batch_size : int or None
        Data per discriminator fit (fresh each iteration); None: all the data.
    learning_rate : float
        The generator's Adam learning rate (default 1e-3; Adam's betas 0.5, 0.999 as in DCGAN).
    n_generator_steps : int
        Default 1.
    loss : {"nonsaturating", "saturating"}
    seed : int or None
        Latent and data minibatches.
    """

    def __init__(self, generator, data, calibrator, batch_size=1000, data_batch_size=None, learning_rate=1e-3,
                 n_generator_steps=1, loss="nonsaturating", seed=None):
        if not isinstance(generator, MLPGenerator):
            raise ValueError(f"generator must be an MLPGenerator, got {type(generator).__name__}.")
        if not isinstance(calibrator, NeuralCalibrator):
            raise ValueError(f"calibrator must be a NeuralCalibrator, got {type(calibrator).__name__}.")
        self.generator, self.calibrator = generator, calibrator
        self.data = _v.as_samples(data, "data", generator.dim)
        self.batch_size = _v.positive_int("batch_size", batch_size)
        self.data_batch_size = None if data_batch_size is None else _v.positive_int("data_batch_size", data_batch_size)
        self.learning_rate = _v.positive_number("learning_rate", learning_rate)
        self.n_generator_steps = _v.positive_int("n_generator_steps", n_generator_steps)
        self.loss = _v.choice("loss", loss, ("nonsaturating", "saturating"))
        self.rng = np.random.default_rng(seed)
        self._opt = optax.adam(self.learning_rate, b1=0.5, b2=0.999)
        self._state = self._opt.init(generator.theta)
        self.iteration = 0

    def step(self) -> dict:
        """One discriminator fit and ``n_generator_steps`` generator steps.

        Returns a dict: ``iteration``; ``d_loss`` (the calibrator's loss); ``g_loss``; ``move``, the
        RMS change of the outputs G(z) of this iteration's z.
        """
        gen, cal = self.generator, self.calibrator
        z = gen.sample_latent(self.batch_size, self.rng)
        x = gen(z)
        data = self.data
        if self.data_batch_size is not None:
            data = data[self.rng.choice(data.shape[0], self.data_batch_size, replace=False)]
        cal.fit(data, x)
        theta, self._state, gl = _gan_generator_steps(gen.theta, self._state, cal.params, cal._shift, cal._scale,
                                                      jnp.asarray(z), gen.activation, cal.activation, self.loss,
                                                      self.learning_rate, self.n_generator_steps)
        if not _finite(theta):
            raise FloatingPointError(f"the generator parameters became non-finite at iteration {self.iteration}.")
        gen.theta = theta
        self.iteration += 1
        move = float(np.sqrt(np.mean(np.sum((gen(z) - x) ** 2, axis=1))))
        return dict(iteration=self.iteration, d_loss=cal.loss_, g_loss=float(gl), move=move)

    def run(self, n_iter, callback=None) -> list:
        """Run ``n_iter`` iterations; ``callback(trainer, info)`` after each. Returns the infos."""
        infos = []
        for _ in range(_v.positive_int("n_iter", n_iter)):
            info = self.step()
            infos.append(info)
            if callback is not None:
                callback(self, info)
        return infos
