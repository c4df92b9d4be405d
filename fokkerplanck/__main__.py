"""``python -m fokkerplanck``: the command line (see :mod:`fokkerplanck.cli`)."""

import sys

__all__ = ["main"]


def main(argv=None) -> int:
    """The ``fokkerplanck`` command; Ctrl-C while the package is still loading exits quietly with 130."""
    try:
        from .cli import main as cli_main
    except KeyboardInterrupt:
        print("fokkerplanck: interrupted", file=sys.stderr)
        return 130
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
