r"""The navigators: Algorithm 1 of Huang & Zhang (2023), with and without a generator.

Algorithm 1 discretises the ODE (20) of Section 3 with step :math:`\varepsilon`. One iteration:

1. draw latent samples :math:`z_i` and set :math:`x_i = G_\theta(z_i)` (the current :math:`u_t`);
2. calibrate: fit the discriminator :math:`D \approx \rho_d/(\rho_d + u_t)` on data against
   :math:`\{x_i\}` (eq. 21; :class:`~fokkerplanck.gan.calibrator.Calibrator`, solved to optimality);
3. move: :math:`y_i = x_i + \varepsilon\,\nabla D(x_i)/(2(1 - D(x_i)))` (eq. 22, forward Euler of eq. 20);
4. fit: refit :math:`G_\theta` to the :math:`y_i` by MSE (eq. 23; point-wise, the vanilla GAN by
   Proposition 8), or to an optimal re-pairing of them (set-wise, Section 3.3);
   :mod:`fokkerplanck.gan.generators`.

After k iterations the generator represents the ODE at :math:`t = k\varepsilon`.

* :class:`ParametricNavigator`: Algorithm 1 with a :class:`~fokkerplanck.gan.generators.RandomFeatureGenerator`;
* :class:`NonparametricNavigator`: Algorithm 1 with the particles themselves as the generator
  (steps 1 and 4 vanish): forward Euler of eq. 20 with the calibrated velocity.

Both share ``run`` (repeat ``step``) through a small private base class.

References
----------
Y.-J. Huang and Y. Zhang, "GANs as Gradient Flows that Converge", JMLR 24(217), 2023,
Section 3.2-3.3, eq. 20-23, Algorithm 1, Proposition 8.
"""

from __future__ import annotations

import numpy as np

from .. import _validation as _v
from .calibrator import CalibratedVelocity, Calibrator, discriminator_velocity
from .generators import _FIT_METHODS, RandomFeatureGenerator, fit_generator, match

__all__ = ["ParametricNavigator", "NonparametricNavigator"]

_FITTINGS = ("pointwise", "setwise")


class _Navigator:
    """What both navigators share: ``run`` repeats ``step``."""

    def step(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def run(self, n_iter, callback=None) -> list:
        """Run ``n_iter`` iterations (:meth:`step`).

        Parameters
        ----------
        n_iter : int
        callback : callable, optional
            ``callback(navigator, info)`` after each iteration.

        Returns
        -------
        list of dict
            The ``info`` of every iteration.
        """
        n_iter = _v.positive_int("n_iter", n_iter)
        infos = []
        for _ in range(n_iter):
            info = self.step()
            infos.append(info)
            if callback is not None:
                callback(self, info)
        return infos


class ParametricNavigator(_Navigator):
    r"""Algorithm 1 of Huang & Zhang (2023): a generator navigating the gradient flow of JSD.

    One iteration (:meth:`step`), with step size :math:`\varepsilon`:

    1. draw m latent samples :math:`z_i` and set :math:`x_i = G(z_i)`;
    2. calibrate: fit :math:`D` on the data against :math:`\{x_i\}` (eq. 21, solved to optimality);
    3. move: :math:`y_i = x_i + \varepsilon\,\nabla D(x_i) / (2(1 - D(x_i)))` (eq. 22);
    4. fit: ``fitting="pointwise"``: MSE between :math:`G(z_i)` and :math:`y_i` (eq. 23; the vanilla
       GAN, Proposition 8); ``fitting="setwise"``: first match :math:`x_i` to
       :math:`y_{\sigma(i)}` by the optimal assignment :func:`match`, then MSE between
       :math:`G(z_i)` and :math:`y_{\sigma(i)}` (the set-wise similarity proposed in Section 3.3).

    After k iterations the generator represents the ODE at time :math:`t = k\varepsilon`.

    Parameters
    ----------
    generator : RandomFeatureGenerator or MLPGenerator
        Modified in place (its ``theta``). Any generator with ``fit_parameters(z, y)`` (returning
        new parameters; :class:`~fokkerplanck.gan.neural.MLPGenerator`) is fitted by that method,
        and ``fit_method``, ``ridge``, ``learning_rate``, ``n_fit_steps`` are ignored for it.
    data : array_like, shape (n_d, d)
        Samples of rho_d.
    step_size : float
        :math:`\varepsilon`.
    fitting : {"pointwise", "setwise"}
    batch_size : int
        m, latent samples per iteration (default 1000).
    data_batch_size : int or None
        Data samples per calibration (a fresh minibatch each iteration, Algorithm 1 line 3);
        None (default) uses all the data every time.
    fit_method, ridge, learning_rate, n_fit_steps
        Passed to :func:`fit_generator` (``method``, ``ridge``, ``learning_rate``, ``n_steps``).
    match_iterations : int
        Set-wise only: alternate matching and fitting this many times (default 1: match the
        current outputs once, then fit). Each round re-matches the *fitted* outputs
        :math:`G_\theta(z_i)` to the moved points and refits, which never increases the set-wise
        loss :math:`\min_\sigma \frac1m\sum_i |G_\theta(z_i) - y_{\sigma(i)}|^2` (+ ridge): a block
        coordinate descent on a squared-W2 fit of the moved sample.
    calibrator : Calibrator or NeuralCalibrator, optional
        Default ``Calibrator(seed=seed)``. Any object with ``fit(data, samples)`` and
        ``velocity(x)`` is accepted.
    seed : int or None
        Seeds the latent and data minibatches (and the default calibrator's features).
    """

    def __init__(self, generator, data, step_size, fitting="pointwise", batch_size=1000, data_batch_size=None,
                 fit_method="lstsq", ridge=1e-6, learning_rate=0.5, n_fit_steps=1, match_iterations=1,
                 calibrator=None, seed=None):
        if not isinstance(generator, RandomFeatureGenerator) and not hasattr(generator, "fit_parameters"):
            raise ValueError(f"generator must be a RandomFeatureGenerator or have fit_parameters(z, y) "
                             f"(MLPGenerator), got {type(generator).__name__}.")
        self.generator = generator
        self.data = _v.as_samples(data, "data", generator.dim)
        self.step_size = _v.positive_number("step_size", step_size)
        self.fitting = _v.choice("fitting", fitting, _FITTINGS)
        self.batch_size = _v.positive_int("batch_size", batch_size)
        if data_batch_size is not None:
            data_batch_size = _v.positive_int("data_batch_size", data_batch_size)
            if data_batch_size > self.data.shape[0]:
                raise ValueError(f"data_batch_size = {data_batch_size} exceeds the {self.data.shape[0]} data samples.")
        self.data_batch_size = data_batch_size
        self.fit_options = dict(method=_v.choice("fit_method", fit_method, _FIT_METHODS),
                                ridge=_v.positive_number("ridge", ridge, allow_zero=True),
                                learning_rate=_v.positive_number("learning_rate", learning_rate),
                                n_steps=_v.positive_int("n_fit_steps", n_fit_steps))
        self.match_iterations = _v.positive_int("match_iterations", match_iterations)
        if calibrator is not None and not (isinstance(calibrator, Calibrator)
                                           or (hasattr(calibrator, "fit") and hasattr(calibrator, "velocity"))):
            raise ValueError(f"calibrator must be a Calibrator or NeuralCalibrator, got {type(calibrator).__name__}.")
        self.rng = np.random.default_rng(seed)
        self.calibrator = calibrator if calibrator is not None else Calibrator(seed=self.rng.integers(2**63))
        self.t = 0.0
        self.iteration = 0

    def _data_batch(self):
        if self.data_batch_size is None:
            return self.data
        idx = self.rng.choice(self.data.shape[0], self.data_batch_size, replace=False)
        return self.data[idx]

    def _fit(self, z, y):
        if isinstance(self.generator, RandomFeatureGenerator):
            return fit_generator(self.generator, z, y, **self.fit_options)
        return self.generator.fit_parameters(z, y)

    def step(self) -> dict:
        """One iteration of Algorithm 1.

        Returns a dict: ``t``; ``move``, the RMS length of the moves of eq. 22; ``fit_residual``,
        the RMS distance between the refitted outputs and their targets (``move`` would be the
        residual of not refitting at all); ``reassigned``, the fraction of points the set-wise
        matching paired with another point's target (0 for point-wise); ``calibrator_iterations``.
        """
        gen = self.generator
        z = gen.sample_latent(self.batch_size, self.rng)
        x = gen(z)
        self.calibrator.fit(self._data_batch(), x)
        y = x + self.step_size * self.calibrator.velocity(x)
        move = float(np.sqrt(np.mean(np.sum((y - x) ** 2, axis=1))))
        reassigned = 0.0
        if self.fitting == "setwise":
            current = x
            for _ in range(self.match_iterations):
                perm = match(current, y)
                theta = self._fit(z, y[perm])
                current = gen(z, theta)
            reassigned = float(np.mean(perm != np.arange(perm.size)))
            y = y[perm]
        else:
            theta = self._fit(z, y)
        finite = gen.parameters_finite(theta) if hasattr(gen, "parameters_finite") else np.all(np.isfinite(theta))
        if not finite:
            raise FloatingPointError(f"the generator parameters became non-finite at iteration {self.iteration}.")
        gen.theta = theta
        self.t += self.step_size
        self.iteration += 1
        fitted = gen(z)
        return dict(t=self.t, move=move, fit_residual=float(np.sqrt(np.mean(np.sum((fitted - y) ** 2, axis=1)))),
                    reassigned=reassigned, calibrator_iterations=self.calibrator.n_iter_)


class NonparametricNavigator(_Navigator):
    r"""Algorithm 1 with the particles as the generator: :math:`y_i \leftarrow y_i + \varepsilon\,
    \nabla D(y_i)/(2(1-D(y_i)))` with D calibrated on the current particles (eq. 21-22).

    This is the forward-Euler simulation of ODE (20) with the velocity
    :func:`discriminator_velocity`; :mod:`fokkerplanck.particles` offers higher-order integrators
    of the same field (``velocity="discriminator"``).

    Parameters
    ----------
    particles : array_like, shape (n, d)
        Initial positions (copied).
    data : array_like, shape (n_d, d)
    step_size : float
    seed : int or None
        Seed of the calibrator's features.
    calibrator : Calibrator, NeuralCalibrator or None
        A calibrator to refit at every step (then ``seed`` and ``calibrator_options`` are not
        used); None (default) builds one by :func:`discriminator_velocity`.
    **calibrator_options
        As for :func:`discriminator_velocity`.
    """

    def __init__(self, particles, data, step_size, seed=None, calibrator=None, **calibrator_options):
        if calibrator is not None:
            if calibrator_options:
                raise ValueError("give either a calibrator or calibrator options, not both.")
            self.field = CalibratedVelocity(_v.as_samples(data, "data"), calibrator)
        else:
            self.field = discriminator_velocity(data, seed=seed, **calibrator_options)
        self.particles = _v.as_samples(particles, "particles", self.field.data.shape[1]).copy()
        self.step_size = _v.positive_number("step_size", step_size)
        self.t = 0.0
        self.iteration = 0

    def step(self) -> dict:
        """One forward-Euler step of eq. 20/22 with the velocity calibrated on the current particles.

        Returns a dict: ``t``; ``move``, the RMS length of the moves; ``calibrator_iterations``.
        """
        v = self.field(self.t, self.particles)
        self.particles = self.particles + self.step_size * v
        self.t += self.step_size
        self.iteration += 1
        return dict(t=self.t, move=float(self.step_size * np.sqrt(np.mean(np.sum(v * v, axis=1)))),
                    calibrator_iterations=self.field.calibrator.n_iter_)
