"""Without the extra ``gan`` (JAX, optax) the package works and the neural names fail clearly.

Runs in a subprocess in which ``import jax`` fails, whether or not JAX is installed here.
"""

import subprocess
import sys
import textwrap


def test_neural_extra_missing_gan_still_imports_and_names_the_extra():
    code = textwrap.dedent("""
        import sys
        sys.modules["jax"] = None      # import jax -> ImportError
        sys.modules["optax"] = None
        import numpy as np
        import fokkerplanck as fp
        from fokkerplanck import gan
        cal = gan.Calibrator(n_features=20, seed=0).fit(np.random.default_rng(0).normal(size=(50, 1)),
                                                          np.random.default_rng(1).normal(1, 1, (50, 1)))
        assert cal.velocity([[0.0]]).shape == (1, 1)
        for name in ("NeuralCalibrator", "MLPGenerator", "AlternatingGAN"):
            try:
                getattr(gan, name)
            except ImportError as exc:
                assert "pip install 'fokkerplanck[gan]'" in str(exc), str(exc)
            else:
                raise AssertionError(name + " imported without jax")
        try:
            fp.particles.simulate(None, fp.Gaussian([0.0], [[1.0]]), 0.1, n=20, velocity="discriminator",
                                  data=np.zeros((20, 1)), dt=0.1, velocity_options=dict(calibrator="neural"))
        except ImportError as exc:
            assert "fokkerplanck[gan]" in str(exc)
        else:
            raise AssertionError("calibrator='neural' ran without jax")
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]
