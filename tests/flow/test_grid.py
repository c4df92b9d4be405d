import numpy as np
import pytest

import fokkerplanck as fp


def test_axes_volume_and_points_order():
    g = fp.Grid(lower=[-1.0, 0.0], upper=[1.0, 3.0], shape=[4, 3])
    assert g.ndim == 2 and g.size == 12
    np.testing.assert_allclose(g.spacing, [0.5, 1.0])
    assert g.cell_volume == pytest.approx(0.5)
    np.testing.assert_allclose(g.axes[0], [-0.75, -0.25, 0.25, 0.75])
    np.testing.assert_allclose(g.axes[1], [0.5, 1.5, 2.5])
    pts = g.points()
    assert pts.shape == (12, 2)
    # C order: the last axis varies fastest, so reshape(grid.shape) lines up with grid.axes
    X, Y = g.meshgrid()
    np.testing.assert_array_equal(pts[:, 0].reshape(g.shape), X)
    np.testing.assert_array_equal(pts[:, 1].reshape(g.shape), Y)
    assert g.integrate(np.ones(g.shape)) == pytest.approx(g.volume)


@pytest.mark.parametrize("kwargs, match", [
    (dict(lower=[0.0], upper=[1.0, 2.0], shape=[3]), "one entry per dimension"),
    (dict(lower=[0.0] * 4, upper=[1.0] * 4, shape=[3] * 4), "1, 2 or 3"),
    (dict(lower=[1.0], upper=[0.0], shape=[3]), "must exceed"),
    (dict(lower=[0.0], upper=[1.0], shape=[1]), "at least 2 cells"),
    (dict(lower=[0.0], upper=[np.inf], shape=[3]), "finite"),
    (dict(lower=[0.0], upper=[1.0], shape=[2.5]), "whole numbers"),
])
def test_bad_grids(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fp.Grid(**kwargs)
