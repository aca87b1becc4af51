"""What a student sees in JupyterLab: notebooks run in a real browser, outputs checked as rendered.

The other tests read bytes and objects; these read the page as the browser
drew it. A JupyterLab server starts on 127.0.0.1 with a random token, in a throwaway root
folder with its own Jupyter config (no news pop-up, no saved workspace), and
Debian's chromium, driven headless by Playwright, opens a notebook written by
the test, runs every cell from the **Run** menu and checks what rendered:

* an e-mail shown with :func:`mimekit.preview_html` sits in a frame whose
  ``sandbox`` attribute is empty, its text is visible, and the ``<script>`` it
  carries did not run (the empty sandbox and the frame's Content-Security-Policy
  each forbid it); the same HTML in a control frame that allows scripts shows
  that the script does change the page when it may run;
* an ipywidgets button rendered, and clicking it reached the kernel and changed
  a label;
* the order confirmation of the sample shop in :func:`mimekit.explorer.explore`
  lists its parts, and clicking one shows that part's headers; the live
  :func:`mimekit.inbox_view.inbox_view` of a started server shows the message
  once it is sent, and clicking its row opens its envelope and parts.

Each test leaves a screenshot of the page in ``test-artifacts/`` (repository
root) named after the test; the explorer test also saves
``explorer-order-confirmation.png`` and ``inbox-order-confirmation.png``. The
browser is the system one (``/usr/bin/chromium``, Debian package ``chromium``),
never Playwright's download. Without chromium, Playwright or JupyterLab these
tests are skipped with the reason, except when the ``CI`` environment variable
is set: there they fail, so CI never passes without them.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import nbformat
import pytest

from loopback import free_port

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

# Seconds. Generous: the machine is shared; nothing here measures speed.
START_TIMEOUT = 120
RUN_TIMEOUT = 120
EXPECT_TIMEOUT_MS = 30_000

try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:  # reported by the fixtures: skipped, or failed under CI
    sync_playwright = None
else:
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)  # expect() waits 5 s by default, too short here

# Headless, and quiet on the network: without the last four flags chromium keeps
# calling home (updates, sync, field trials), which a closed network only slows down.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # chromium's own sandbox cannot start as root in a container
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _unavailable(reason: str) -> None:
    """Skip with *reason*, or fail when running under CI (where the browser test is required)."""
    if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
        pytest.fail(f"{reason}; CI is set, so the browser tests must run (.ci/run installs chromium)", pytrace=False)
    pytest.skip(reason)


# --------------------------------------------------------------------------- JupyterLab on loopback


@dataclass
class JupyterLab:
    """A running JupyterLab: its base URL, token and root folder (where notebooks go)."""

    url: str
    token: str
    root: Path

    def api(self, method: str, path: str) -> object:
        """Call the server's REST API with the token; return the decoded JSON (None for an empty reply)."""
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            body = reply.read()
        return json.loads(body) if body else None

    def write_notebook(self, name: str, cells: list[str]) -> str:
        """Write code *cells* (sources, in order) to ``root/name`` for the python3 kernel; return *name*."""
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
        nbformat.write(nb, self.root / name)
        return name

    def notebook_url(self, name: str) -> str:
        """The URL that opens *name* in a reset workspace (no tabs left over from an earlier test)."""
        return f"{self.url}/lab/tree/{quote(name)}?reset&token={self.token}"

    def shut_down_kernels(self) -> None:
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")


def _lab_settings(config_dir: Path) -> None:
    """User settings for the test's JupyterLab: never ask about, fetch or announce news."""
    settings = config_dir / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}), encoding="utf-8"
    )


def _wait_until_up(lab: JupyterLab, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited with status {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            lab.api("GET", "/api/status")
            return
        except OSError:
            if time.monotonic() > deadline:
                tail = log.read_text()[-3000:]
                pytest.fail(f"JupyterLab did not answer on {lab.url} within {START_TIMEOUT} s:\n{tail}")
            time.sleep(0.5)


@pytest.fixture(scope="module")
def jupyter_lab(tmp_path_factory) -> Iterator[JupyterLab]:
    """JupyterLab on 127.0.0.1, a free port and a random token, with its own config; stopped afterwards."""
    try:
        import ipywidgets  # noqa: F401  (the widget test needs the kernel side too)
        import jupyterlab  # noqa: F401
    except ImportError as exc:
        _unavailable(f"JupyterLab and ipywidgets are needed (pip install -e '.[lab]'): {exc}")
    home = tmp_path_factory.mktemp("jupyterlab")
    root = home / "notebooks"
    root.mkdir()
    config_dir = home / "config"
    _lab_settings(config_dir)
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(config_dir),  # user settings and workspaces live here
        JUPYTER_DATA_DIR=str(home / "data"),  # the notebook-signing key, kept out of ~
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / "ipython"),
    )
    lab = JupyterLab(url=f"http://127.0.0.1:{free_port()}", token=secrets.token_hex(24), root=root)
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={lab.url.rsplit(':', 1)[1]}",
        f"--ServerApp.token={lab.token}", f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: lets the test ask whether the kernel is ready
    ]  # fmt: skip
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = home / "jupyterlab.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_until_up(lab, process, log)
        yield lab
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the server and the kernels it started
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --------------------------------------------------------------------------- chromium through Playwright


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A headless chromium (the system one) with a fresh profile, driven by Playwright."""
    if sync_playwright is None:
        _unavailable("Playwright is needed for the browser tests (pip install -e '.[test]')")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        _unavailable("chromium is not installed (Debian/Ubuntu: apt-get install --no-install-recommends chromium)")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 1400},  # tall enough for an explorer and its panes
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser, jupyter_lab, request) -> Iterator[Page]:
    """A new browser tab; afterwards its screenshot goes to ``test-artifacts/<test name>.png`` and kernels stop."""
    page = browser.new_page()
    page.set_default_timeout(EXPECT_TIMEOUT_MS)
    try:
        yield page
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        try:
            page.screenshot(path=ARTIFACTS / f"{request.node.name}.png", full_page=True)
        finally:
            page.close()
            jupyter_lab.shut_down_kernels()


# Ask JupyterLab (window.jupyterapp) about the notebook panel open on `path`.
KERNEL_READY = """path => {
    const panel = Array.from(window.jupyterapp?.shell.widgets('main') ?? []).find(w => w.context?.path === path);
    const kernel = panel?.sessionContext.session?.kernel;
    return !!kernel && panel.sessionContext.isReady
        && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}"""

ALL_CELLS_RAN = """path => {
    const panel = Array.from(window.jupyterapp.shell.widgets('main')).find(w => w.context?.path === path);
    const kernel = panel?.sessionContext.session?.kernel;
    const code = panel.content.widgets.filter(cell => cell.model.type === 'code');
    return kernel?.status === 'idle' && code.every(cell => cell.model.executionCount !== null);
}"""

ERRORS = """path => {
    const panel = Array.from(window.jupyterapp.shell.widgets('main')).find(w => w.context?.path === path);
    return panel.content.widgets
        .filter(cell => cell.model.type === 'code')
        .flatMap(cell => cell.model.outputs.toJSON())
        .filter(output => output.output_type === 'error')
        .map(output => `${output.ename}: ${output.evalue}`);
}"""


def run_notebook(page: Page, lab: JupyterLab, name: str) -> None:
    """Open *name* in JupyterLab, wait for its kernel, choose Run > Run All Cells, wait until all ran.

    Fails with the error names and values if any cell raised.
    """
    page.goto(lab.notebook_url(name))
    page.wait_for_function(KERNEL_READY, arg=name, timeout=START_TIMEOUT * 1000)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    page.wait_for_function(ALL_CELLS_RAN, arg=name, timeout=RUN_TIMEOUT * 1000)
    errors = page.evaluate(ERRORS, name)
    assert errors == [], f"cells of {name} raised: {errors}"


def output_of(page: Page, cell: int):
    """The output area of the *cell*-th code cell (0-based) of the open notebook."""
    return page.locator(".jp-Notebook .jp-CodeCell").nth(cell).locator(".jp-OutputArea-output")


# --------------------------------------------------------------------------- the tests

GREETING = "Hola José, tu pedido de Tienda Ñandú"

# An e-mail whose HTML carries a script; were it to run, the heading would read
# "script ran", <body> would get data-pwned="1" and the notebook tab's title "pwned".
MAIL_WITH_SCRIPT = f"""
from mimekit import make_alternative, preview_html

HTML = '''<h1 id="greeting">{GREETING}</h1>
<p>Gracias por tu compra, José Núñez.</p>
<script>
document.getElementById("greeting").textContent = "script ran";
document.body.dataset.pwned = "1";
parent.document.title = "pwned";
</script>'''
msg = make_alternative("{GREETING}", HTML)
preview_html(msg)
"""

# The control: the same HTML in a frame that allows scripts (and still not same-origin).
SCRIPTS_ALLOWED = """
import html
from IPython.display import HTML as Show

Show(f'<iframe sandbox="allow-scripts" srcdoc="{html.escape(HTML, quote=True)}"></iframe>')
"""


def test_preview_shows_the_mail_in_a_sandboxed_frame_where_its_script_does_not_run(page, jupyter_lab):
    name = jupyter_lab.write_notebook("preview-sandbox.ipynb", [MAIL_WITH_SCRIPT, SCRIPTS_ALLOWED])
    run_notebook(page, jupyter_lab, name)

    frame_element = output_of(page, 0).locator("iframe")
    expect(frame_element).to_have_count(1)
    assert frame_element.get_attribute("sandbox") == "", "the preview frame must be sandboxed with nothing allowed"
    mail = output_of(page, 0).frame_locator("iframe")
    expect(mail.get_by_role("heading", name=GREETING)).to_be_visible()
    expect(mail.locator("#greeting")).to_have_text(GREETING)
    expect(mail.get_by_text("Gracias por tu compra, José Núñez.")).to_be_visible()
    expect(mail.locator("body")).not_to_have_attribute("data-pwned", "1")

    control = output_of(page, 1).frame_locator("iframe")
    expect(control.locator("#greeting")).to_have_text("script ran")  # the script works where scripts may run
    expect(control.locator("body")).to_have_attribute("data-pwned", "1")
    assert page.title() != "pwned", "a script in e-mail HTML reached the notebook page"


WIDGET = """
import ipywidgets as widgets

label = widgets.Label("Sin enviar").add_class("mimekit-probe-label")
button = widgets.Button(description="Enviar a José").add_class("mimekit-probe-button")

def send(_):
    label.value = "Enviado a José Núñez ✓"

button.on_click(send)
widgets.VBox([button, label])
"""


def test_widget_button_renders_and_its_click_reaches_the_kernel(page, jupyter_lab):
    name = jupyter_lab.write_notebook("widget-click.ipynb", [WIDGET])
    run_notebook(page, jupyter_lab, name)

    button = output_of(page, 0).locator(".mimekit-probe-button")
    expect(button).to_have_text("Enviar a José")
    label = output_of(page, 0).locator(".mimekit-probe-label")
    expect(label).to_have_text("Sin enviar")
    button.click()
    expect(label).to_have_text("Enviado a José Núñez ✓")


ORDER_CONFIRMATION = """
from mimekit import SMTPSession, start_server
from mimekit.explorer import explore
from mimekit.inbox_view import inbox_view
from mimekit.shop import build_order_confirmation, sample_order, sample_shop
from mimekit.shop.sample import NOW

server = start_server()
server.inbox.clear()
msg = build_order_confirmation(sample_order(), sample_shop(), date=NOW)
explore(msg)
"""

INBOX = """
view = inbox_view(server)
view
"""

SEND = """
with SMTPSession(server.host, server.port) as session:
    session.send(msg)
server.inbox.wait_for(1);
"""


def _header_rows(pane) -> dict[str, str]:
    """The rows of an explorer's headers table: header name -> value as shown."""
    rows = pane.locator("tr").evaluate_all("rows => rows.map(r => [r.cells[0].innerText, r.cells[1].innerText])")
    return {name.strip(): value.strip() for name, value in rows}


def test_explorer_and_inbox_show_the_order_confirmation_part_by_part(page, jupyter_lab, parse):
    from mimekit.shop import build_order_confirmation, sample_order, sample_shop
    from mimekit.shop.sample import NOW

    # The same e-mail, built here and read back from the wire, says what the views must show
    # (its Content-IDs and Message-ID differ from the kernel's copy: only stable values are compared).
    expected = parse(build_order_confirmation(sample_order(), sample_shop(), date=NOW))
    types = [part.get_content_type() for part in expected.walk()]
    logo = types.index("image/png")
    logo_part = list(expected.walk())[logo]
    subject, sender, recipient = str(expected["Subject"]), str(expected["From"]), expected["To"].addresses[0]

    name = jupyter_lab.write_notebook("order-confirmation.ipynb", [ORDER_CONFIRMATION, INBOX, SEND])
    run_notebook(page, jupyter_lab, name)

    explorer = output_of(page, 0).locator(".mimekit-explorer")
    expect(explorer.locator(".mimekit-explorer-title")).to_contain_text(subject)
    parts = explorer.locator("button.mimekit-part")  # the widget's buttons, not the static HTML's list items
    expect(parts).to_have_count(len(types))
    for index, content_type in enumerate(types):
        expect(explorer.locator(f"button.mimekit-part-{index}")).to_contain_text(f"#{index} {content_type}")
    headers = explorer.locator(".mimekit-part-headers")
    expect(explorer.locator("button.mimekit-part-0")).to_have_class(re.compile(r"\bmimekit-part-selected\b"))
    expect(headers).to_contain_text(sender)  # "Tienda Ñandú <…>": RFC 2047 encoded words decoded

    explorer.locator(f"button.mimekit-part-{logo}").click()
    expect(explorer.locator(f"button.mimekit-part-{logo}")).to_have_class(re.compile(r"\bmimekit-part-selected\b"))
    expect(headers).to_contain_text(str(logo_part["Content-Disposition"]))
    shown = _header_rows(headers)
    assert list(shown) == list(logo_part.keys())
    for field in ("Content-Type", "Content-Transfer-Encoding", "Content-Disposition"):
        assert shown[field] == str(logo_part[field])
    expect(explorer.locator(".mimekit-part-content img")).to_be_visible()  # the logo, decoded from base64
    ARTIFACTS.mkdir(exist_ok=True)
    output_of(page, 0).screenshot(path=ARTIFACTS / "explorer-order-confirmation.png")

    inbox = output_of(page, 1).locator(".mimekit-inbox")
    row = inbox.locator("button.mimekit-inbox-row-0")
    expect(row).to_be_visible()  # drawn by the live view when the message arrived
    expect(inbox.locator(".mimekit-inbox-table")).to_contain_text(subject)
    row.click()
    expect(inbox.locator(".mimekit-inbox-envelope")).to_contain_text(f"RCPT TO: <{recipient.addr_spec}>")
    expect(inbox.locator(".mimekit-inbox-message button.mimekit-part")).to_have_count(len(types))
    output_of(page, 1).screenshot(path=ARTIFACTS / "inbox-order-confirmation.png")
