"""The notebooks as teaching material: every cell can be rerun, and no server is left behind.

nbval (run by ``make test`` on ``notebooks/``) checks each notebook top to bottom in
a fresh kernel against its stored outputs. These tests check what nbval does not:
a student who runs every cell twice in a row gets no error and never a second
embedded server, and the teardown cell leaves none running.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))

COUNT_RUNNING_SERVERS = """
import gc
from mimekit import EmbeddedServer
print(sum(1 for o in gc.get_objects() if isinstance(o, EmbeddedServer) and o.is_running))
"""


def _run(client: NotebookClient, source: str) -> str:
    cell = nbformat.v4.new_code_cell(source)
    client.execute_cell(cell, 0)
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream").strip()


def test_there_are_notebooks_to_check():
    names = [path.stem for path in NOTEBOOKS]
    assert {"00_welcome", "01_mime_basics", "02_multipart_trees", "06_order_confirmation"} <= set(names)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_cell_can_run_twice_and_teardown_leaves_no_server(path: Path):
    nb = nbformat.read(path, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    teardown = [cell for cell in code if "stop_server()" in cell.source]
    starts_server = any("start_server(" in cell.source for cell in code)
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or cell in teardown:
                continue
            for _ in range(2):  # cells tagged raises-exception may raise; any other error fails here
                client.execute_cell(cell, index)
        running = int(_run(client, COUNT_RUNNING_SERVERS))
        assert running == (1 if starts_server else 0), f"{running} embedded servers running after rerunning every cell"
        for cell in teardown:
            client.execute_cell(cell, nb.cells.index(cell))
        assert int(_run(client, COUNT_RUNNING_SERVERS)) == 0, "the teardown cell left a server running"
