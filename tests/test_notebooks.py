"""Every teaching notebook runs top to bottom (nbclient), and is committed with its outputs stripped."""

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 4


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_outputs_are_stripped(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear the outputs before committing"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Run every notebook (two kernels at a time, one per core) and collect the results or errors."""
    import asyncio

    from nbclient import NotebookClient

    async def run_all():
        slots = asyncio.Semaphore(2)

        async def one(path):
            nb = nbformat.read(path, as_version=4)
            # run in a scratch directory, so a notebook that writes files leaves nothing behind
            workdir = tmp_path_factory.mktemp(path.stem)
            client = NotebookClient(nb, timeout=120, kernel_name="python3",
                                    resources={"metadata": {"path": str(workdir)}})
            async with slots:
                await client.async_execute()  # raises CellExecutionError naming the failing cell
            return nb

        return await asyncio.gather(*(one(p) for p in NOTEBOOKS), return_exceptions=True)

    return dict(zip(NOTEBOOKS, asyncio.run(run_all())))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, executed):
    result = executed[path]
    if isinstance(result, BaseException):
        pytest.fail(f"{path.name} failed:\n{result}")
    errors = [o for c in result.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    assert any(o.output_type == "display_data" for c in result.cells if c.cell_type == "code" for o in c.outputs)
