"""Sphinx configuration of the fokkerplanck documentation.

Build it with ``python -m sphinx -W -b html docs docs/_build/html`` after ``pip install -e ".[docs]"``.

The teaching notebooks live in ``notebooks/`` at the top of the repository, committed without
outputs. Each build copies them into ``docs/notebooks/`` (ignored by git) and myst-nb executes the
notebooks (caching the results until a notebook changes), so the site shows every figure. A caller that has already executed them
(the test suite does, once, for both its notebook and documentation tests) can point
``FOKKERPLANCK_EXECUTED_NOTEBOOKS`` at a folder of executed copies; those are used as they are.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

import fokkerplanck  # noqa: E402

project = "fokkerplanck"
author = "the fokkerplanck developers"
copyright = "2023-2025, the fokkerplanck developers"
release = fokkerplanck.__version__
version = release

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
]

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints", "jupyter_execute"]
templates_path = ["_templates"]
html_static_path = ["_static"]
html_css_files = ["custom.css"]

# --- math: MathJax 3.2.2 bundled in _static/mathjax (from the npm package; see its README.txt), not a
# CDN, so that the built site renders equations without a network connection.
mathjax_path = "mathjax/tex-chtml.js"

# --- MyST (markdown pages and notebooks) ---------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
myst_dmath_double_inline = True

# --- notebooks (myst-nb) ---------------------------------------------------------------------------
# Executed once and cached (docs/_build/.jupyter_cache) until a notebook changes; copies that were
# executed before the build (FOKKERPLANCK_EXECUTED_NOTEBOOKS) are shown as they are.
nb_execution_mode = "off" if os.environ.get("FOKKERPLANCK_EXECUTED_NOTEBOOKS") else "cache"
nb_execution_cache_path = str(DOCS / "_build" / ".jupyter_cache")
nb_execution_timeout = 300
nb_execution_raise_on_error = True  # a failing cell fails the build
nb_execution_show_tb = True
nb_execution_in_temp = True         # files a notebook writes land in a scratch folder
nb_merge_streams = True


def _copy_notebooks() -> None:
    source = Path(os.environ.get("FOKKERPLANCK_EXECUTED_NOTEBOOKS") or ROOT / "notebooks")
    if not source.is_dir():
        raise RuntimeError(f"FOKKERPLANCK_EXECUTED_NOTEBOOKS={source} is not a folder of notebooks.")
    dest = DOCS / "notebooks"
    dest.mkdir(exist_ok=True)
    wanted = {p.name for p in (ROOT / "notebooks").glob("*.ipynb")}
    for old in dest.glob("*.ipynb"):
        if old.name not in wanted:
            old.unlink()
    for name in sorted(wanted):
        src = source / name
        if not src.exists():
            raise RuntimeError(f"{source} has no executed copy of {name}.")
        target = dest / name
        # copy only when the content changed, so that Sphinx does not rebuild (and re-execute) for nothing
        if not target.exists() or target.read_bytes() != src.read_bytes():
            shutil.copyfile(src, target)


_copy_notebooks()

# --- API reference ---------------------------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"           # numpydoc's Parameters sections carry the types
numpydoc_show_class_members = False  # autodoc lists the members; numpydoc would list them twice
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# --- HTML ------------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"fokkerplanck {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_context = {"default_mode": "light"}

# --- the benchmark pages -----------------------------------------------------------------------------
# They are the repository's benchmarks/*.md, written to be read on their own; each build copies them
# into docs/benchmarks/ (ignored by git). Their links to scripts and folders are not pages of this
# site, so they become code text; their links to each other point at the corresponding pages; their
# images point back at the figures in benchmarks/.
import re  # noqa: E402

_BENCHMARKS = {"README.md": "index.md", "particles.md": "particles.md", "gan.md": "gan.md",
               "convergence/README.md": "convergence.md"}
_BENCH_TOCTREE = "\n\n```{toctree}\n:maxdepth: 1\n:caption: Results pages\n\nparticles\ngan\nconvergence\n```\n"


def _benchmark_page(source: str) -> str:
    folder = Path(source).parent
    text = (ROOT / "benchmarks" / source).read_text(encoding="utf-8")

    def link(match):
        bang, label, target = match.group(1), match.group(2), match.group(3)
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            return match.group(0)
        if bang:  # an image: relative to the page in docs/benchmarks/
            return f"![{label}](../../benchmarks/{(folder / target).as_posix()})"
        key = (folder / target).as_posix()
        if key in _BENCHMARKS:
            return f"[{label}]({_BENCHMARKS[key]})"
        return label if label.startswith("`") else f"`{label}`"

    return re.sub(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)", link, text)


def _copy_benchmarks() -> None:
    dest = DOCS / "benchmarks"
    dest.mkdir(exist_ok=True)
    for source, page in _BENCHMARKS.items():
        text = _benchmark_page(source) + (_BENCH_TOCTREE if page == "index.md" else "")
        target = dest / page
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")


_copy_benchmarks()

# Notebook 05 and the convergence benchmark page jump from a level-1 to a level-3 heading; that is a
# style choice of their authors, not a broken page.
suppress_warnings = ["myst.header"]
