"""``python -m fokkerplanck.sweep SPEC.toml ...``: the same command as ``fokkerplanck sweep SPEC.toml ...``
(see :mod:`fokkerplanck.cli`)."""

import sys

if __name__ == "__main__":  # pragma: no cover - run as a subprocess by the tests
    from fokkerplanck.cli import main

    sys.exit(main(["sweep", *sys.argv[1:]]))
