"""Optional dependencies (private): import them on first use, or say which extra installs them."""

from __future__ import annotations

import importlib

__all__ = ["require", "EXTRAS"]

# import name -> (distribution, extra of fokkerplanck that installs it)
EXTRAS = {
    "fipy": ("fipy", "fipy"),
    "ot": ("pot", "ot"),
    "dask": ("dask", "sweep"),
    "distributed": ("distributed", "sweep"),
}


def require(module: str, purpose: str):
    """Import ``module`` or raise an ImportError that names the extra to install for ``purpose``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        dist, extra = EXTRAS.get(top, (top, "all"))
        raise ImportError(f"{purpose} needs the optional dependency {dist!r}, which is not installed; "
                          f"install it with: pip install 'fokkerplanck[{extra}]'") from exc
