r"""What we measure about a flow: the analysis layer above the numerics core.

- :mod:`~fokkerplanck.analysis.spectral`: the spectral gap :math:`\lambda_1` of the target (the
  eigenvalues of the :math:`\rho_d`-weighted Laplacian);
- :mod:`~fokkerplanck.analysis.rates`: predicted long-time rates (:math:`\Phi'(1)\lambda_1`, and
  each scheme's discrete rate) and fitted ones;
- :mod:`~fokkerplanck.analysis.bounds`: condition (34) and Lemma 24 of the paper;
- :mod:`~fokkerplanck.analysis.exact`: exact solutions (Ornstein-Uhlenbeck, Barenblatt) and the
  array tools of refinement studies;
- :mod:`~fokkerplanck.analysis.distances`: distances between empirical measures and grid
  densities (W_p exact or sliced, binned TV and JSD, the sampling floor);
- :mod:`~fokkerplanck.analysis.circle`: the exact W_1 on the circle (periodic 1-D grids).

``fokkerplanck.theory`` is this package (its functions were written for it first) and
``fokkerplanck.compare`` is :mod:`~fokkerplanck.analysis.distances`: both names keep working.
It imports :mod:`fokkerplanck.flow` and nothing else of the package.
"""

from __future__ import annotations

from . import bounds, circle, distances, exact, rates, spectral
from .exact import barenblatt, barenblatt_cell_averages, coarsen, ornstein_uhlenbeck, richardson
from .bounds import condition_beta, gaussian_beta, gradient_integral, lemma24, lemma24_bound
from .rates import decay_window, discrete_rate, fit_rate, predicted_rate, predicted_rates, solution_rate
from .spectral import DIRECT_LIMIT, eigenvalues, first_mode, spectral_gap, weighted_laplacian

__all__ = ["spectral_gap", "eigenvalues", "weighted_laplacian", "predicted_rate", "discrete_rate",
           "predicted_rates", "fit_rate", "decay_window", "gaussian_beta", "condition_beta", "lemma24_bound",
           "gradient_integral", "lemma24", "solution_rate", "barenblatt", "barenblatt_cell_averages",
           "ornstein_uhlenbeck", "coarsen", "richardson", "first_mode", "DIRECT_LIMIT"]
