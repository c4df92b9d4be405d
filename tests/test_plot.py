"""Every plotting function draws a real (non-blank) PNG with the Agg backend; animations write GIFs."""

import sys

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

import fokkerplanck as fp
from fokkerplanck import plot

TARGET1 = fp.GaussianMixture([0.5, 0.5], [[-1.5], [1.5]], [[[0.4]], [[0.4]]])
INITIAL1 = fp.Gaussian([0.3], [[0.6]])


@pytest.fixture(scope="module")
def sol1():
    grid = fp.Grid([-5.0], [5.0], [100])
    return fp.solve(TARGET1, INITIAL1, grid, 1.0, dt=0.05, t_eval=np.linspace(0, 1, 11))


@pytest.fixture(scope="module")
def sol2():
    grid = fp.Grid([-4.0, -4.0], [4.0, 4.0], [24, 20])
    target = fp.GaussianMixture([0.5, 0.5], [[-1.0, 0.0], [1.0, 0.5]], [np.eye(2) * 0.5, np.eye(2) * 0.4])
    initial = fp.Gaussian([0.0, 0.0], np.eye(2) * 0.6)
    return fp.solve(target, initial, grid, 0.5, dt=0.1, t_eval=np.linspace(0, 0.5, 6))


@pytest.fixture(scope="module")
def sol3():
    grid = fp.Grid([-4.0, -4.0, -4.0], [4.0, 4.0, 4.0], [10, 10, 8])
    return fp.solve(fp.Gaussian([0.0] * 3, np.eye(3)), fp.Gaussian([0.5, 0.0, 0.0], np.eye(3) * 0.5), grid, 0.2,
                    dt=0.1)


def _png(fig, path):
    """Save, close and check that the image is a real drawing: a valid PNG that is not one flat colour."""
    fig.savefig(path, dpi=60)
    plt.close(fig)
    img = np.asarray(Image.open(path).convert("L"), dtype=float)
    assert img.shape[0] > 50 and img.shape[1] > 50
    assert img.std() > 5.0  # a blank canvas has std 0; axes, curves and labels give tens of grey levels
    return img


def test_agg_backend():
    assert matplotlib.get_backend().lower() == "agg"


def test_snapshots(tmp_path, sol1, sol2, sol3):
    _png(plot.snapshots(sol1), tmp_path / "s1.png")
    _png(plot.snapshots(sol1, times=[0.0, 0.5]), tmp_path / "s1b.png")
    _png(plot.snapshots(sol2), tmp_path / "s2.png")
    _png(plot.snapshots(sol3), tmp_path / "s3.png")  # 3-D: marginal of the first two coordinates
    fig, ax = plt.subplots()
    assert plot.snapshots(sol1, ax=ax) is fig
    assert len(ax.lines) == 1 + len(plot.snapshot_times(sol1))  # rho_d plus one line per frame
    plt.close(fig)


def test_convergence_with_predicted_rate(tmp_path, sol1):
    fig = plot.convergence(sol1)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("predicted" in s for s in labels)
    _png(fig, tmp_path / "c.png")
    fig = plot.convergence(sol1, rate=None)
    assert not any("predicted" in t.get_text() for t in fig.axes[0].get_legend().get_texts())
    plt.close(fig)
    with pytest.raises(ValueError, match="rate"):
        plot.convergence(sol1, rate="fast")


def test_particles_kymograph_and_overview(tmp_path, sol1, sol2, rng):
    pos1 = INITIAL1.sample(500, seed=rng)
    _png(plot.particles(sol1, pos1, t=0.0), tmp_path / "p1.png")
    snaps = rng.normal(size=(3, 400, 2))
    _png(plot.particles(sol2, snaps, particle_t=[0.0, 0.2, 0.5], t=0.2), tmp_path / "p2.png")
    with pytest.raises(ValueError, match="particle_t"):
        plot.particles(sol2, snaps)
    with pytest.raises(ValueError, match="dimensional"):
        plot.particles(sol1, snaps[0])
    _png(plot.kymograph(sol1), tmp_path / "k.png")
    with pytest.raises(ValueError, match="1-D"):
        plot.kymograph(sol2)
    _png(plot.solution(sol1, particles=(np.array([0.0, 1.0]), np.stack([pos1, pos1]))), tmp_path / "o1.png")
    _png(plot.solution(sol2, path=tmp_path / "o2.pdf"), tmp_path / "o2.png")
    assert (tmp_path / "o2.pdf").stat().st_size > 1000


def test_animation_gif(tmp_path, sol1, sol2, rng):
    snaps = (np.array([0.0, 0.5, 1.0]), rng.normal(size=(3, 300, 1)))
    files = plot.animate(sol1, tmp_path / "a1.mp4", particles=snaps, max_frames=5, mp4=False)
    assert files == [tmp_path / "a1.gif"]
    with Image.open(files[0]) as im:
        assert im.n_frames == 3  # one frame per particle snapshot (3 <= max_frames)
        im.seek(2)
        assert np.asarray(im.convert("L"), dtype=float).std() > 5.0
    files = plot.animate(sol2, tmp_path / "a2.gif", max_frames=4, mp4=False)
    with Image.open(files[0]) as im:
        assert im.n_frames == 4  # 6 saved frames thinned to at most 4
    with pytest.raises(ValueError, match="shape"):
        plot.animate(sol1, tmp_path / "bad.gif", particles=(np.array([0.0]), rng.normal(size=(2, 10, 1))))


def test_bad_input():
    with pytest.raises(ValueError, match="Solution"):
        plot.snapshots(np.zeros(3))
