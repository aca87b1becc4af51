"""Specification of mimekit.inbox_view: the embedded server's inbox as a table that updates itself."""

from __future__ import annotations

import base64
import json
import mailbox
import queue
import re
import smtplib
import threading
import time

import pytest

from message_parts import html_elements
from mimekit import (
    EmbeddedServer,
    Inbox,
    SMTPSession,
    add_attachment,
    as_smtp_bytes,
    make_mixed,
    set_header,
    start_server,
    stop_server,
)
from mimekit.explorer import MessageExplorer
from mimekit.inbox_view import InboxView, inbox_view
from test_explorer import PDF, displayed, one, with_class

DEADLINE = 20.0  # seconds a poll loop may wait for the background thread on a busy machine


def eventually(condition, what: str):
    """Poll *condition* until it is true; fail naming *what* if it never is (no timing is asserted)."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"never happened: {what}")


def updaters() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("mimekit-inbox-view-")]


@pytest.fixture
def view(smtp_server):
    view = inbox_view(smtp_server)
    displayed(view)  # the live updater starts
    yield view
    view.close()


def send(server, msg) -> None:
    with SMTPSession(server.host, server.port) as session:
        session.send(msg)


def cell_texts(view: InboxView) -> list[str]:
    return [cell.value for cell in with_class(view.widget, "mimekit-inbox-cell")]


# --------------------------------------------------------------------------- live


def test_a_message_sent_to_the_server_appears_in_the_table_without_a_refresh(smtp_server, view, confirmation):
    assert view.is_live
    assert with_class(view.widget, "mimekit-inbox-row") == []
    send(smtp_server, confirmation)
    eventually(lambda: "Tu pedido 1001 está confirmado" in cell_texts(view), "the row of the new message")
    assert [b.description for b in with_class(view.widget, "mimekit-inbox-row")] == ["0"]
    captured = smtp_server.inbox[0]
    assert cell_texts(view) == [
        f"{captured.received_at:%H:%M:%S}",
        "Tienda Ñandú",
        "José Núñez",
        "Tu pedido 1001 está confirmado",
        f"{captured.size:,} bytes",
    ]
    tooltips = [cell.tooltip for cell in with_class(view.widget, "mimekit-inbox-cell")]
    assert tooltips[1:3] == ["Tienda Ñandú <pedidos@tienda.example.com>", "José Núñez <jose.nunez@example.com>"]
    assert "1 message · smtp://127.0.0.1:" in one(view.widget, "mimekit-inbox-status").value


def test_from_and_to_cells_show_names_or_the_bare_address_and_keep_what_is_not_a_mailbox(smtp_server, view):
    named = (
        b"From: ana@example.org\r\nTo: =?utf-8?q?Zo=C3=AB?= <zoe.anderson@example.org>, mary@example.net\r\n"
        b"Subject: nombres\r\n\r\nhola\r\n"
    )
    group = b"From: ana@example.org\r\nTo: undisclosed-recipients:;\r\nSubject: grupo\r\n\r\nhola\r\n"
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=30) as client:
        for raw in (named, group):
            client.sendmail("ana@example.org", ["zoe.anderson@example.org", "mary@example.net"], raw)
    eventually(lambda: "grupo" in cell_texts(view), "both rows")
    cells = with_class(view.widget, "mimekit-inbox-cell")  # five a row: time, From, To, Subject, size
    assert [c.value for c in cells[1:3]] == ["ana@example.org", "Zoë, mary@example.net"]
    assert cells[2].tooltip == "Zoë <zoe.anderson@example.org>, mary@example.net"
    assert cells[7].value == cells[7].tooltip == "undisclosed-recipients:;"  # a group (RFC 5322 §3.4), as written


def test_rows_are_appended_in_arrival_order_with_inbox_numbers(smtp_server, view, text_message):
    for subject in ("uno", "dos", "tres"):
        send(smtp_server, text_message(subject=subject))
    eventually(lambda: len(with_class(view.widget, "mimekit-inbox-row")) == 3, "three rows")
    assert [b.description for b in with_class(view.widget, "mimekit-inbox-row")] == ["0", "1", "2"]
    assert [c for c in cell_texts(view) if c in ("uno", "dos", "tres")] == ["uno", "dos", "tres"]


def test_clear_button_empties_the_servers_inbox_and_the_table(smtp_server, view, text_message):
    send(smtp_server, text_message())
    eventually(lambda: with_class(view.widget, "mimekit-inbox-row"), "a row")
    one(view.widget, "mimekit-inbox-clear").click()
    assert len(smtp_server.inbox) == 0
    assert with_class(view.widget, "mimekit-inbox-row") == [] and view.messages == []
    send(smtp_server, text_message(subject="después"))
    eventually(lambda: "después" in cell_texts(view), "a row after the clear")


def test_a_new_view_of_the_same_inbox_replaces_the_old_one_so_threads_do_not_pile_up(smtp_server, view):
    assert len(updaters()) == 1
    rerun = displayed(inbox_view(smtp_server))
    try:
        assert not view.is_live and rerun.is_live
        assert "replaced by a newer view" in one(view.widget, "mimekit-inbox-status").value
        eventually(lambda: len(updaters()) == 1, "the old updater thread ending")
    finally:
        rerun.close()
    eventually(lambda: updaters() == [], "no updater after close()")


def test_the_updater_stops_when_the_server_stops(text_message):
    server = start_server(name="inbox-view-test")
    try:
        view = displayed(inbox_view(server))
        assert view.is_live
    finally:
        stop_server("inbox-view-test")
    eventually(lambda: updaters() == [], "the updater ending with the server")
    assert "server stopped" in one(view.widget, "mimekit-inbox-status").value
    view.close()


def test_a_view_of_a_stopped_server_is_a_snapshot_without_a_thread(smtp_server):
    smtp_server.stop()
    view = displayed(inbox_view(smtp_server))
    assert not view.is_live and updaters() == []
    assert "server stopped: a snapshot" in one(view.widget, "mimekit-inbox-status").value


KERNEL_SETUP = """
from mimekit import EmbeddedServer, make_alternative
from mimekit.explorer import explore
from mimekit.inbox_view import inbox_view
from mimekit.preview import preview_mail
server = EmbeddedServer().start()
view = inbox_view(server)
display(view)
msg = make_alternative("Hola", "<p>Hola</p>")
display(explore(msg))
display(preview_mail(msg))
print(server.port)
"""


def test_in_a_real_kernel_views_are_widgets_and_the_thread_updates_reach_the_front_end():
    """The claim behind the live table: trait changes made by the updater thread are sent on IOPub.

    ipykernel 7 routes messages by context; a plain thread falls back to the
    shell's context, so its comm messages go out while the kernel is idle.
    """
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", startup_timeout=120)
    try:
        outputs = []
        kc.execute_interactive(KERNEL_SETUP, timeout=120, output_hook=outputs.append)
        bundles = [m["content"]["data"] for m in outputs if m["msg_type"] == "display_data"]
        assert [sorted(b) for b in bundles] == [
            ["application/vnd.jupyter.widget-view+json", "text/html", "text/plain"]
        ] * 3
        assert bundles[0]["text/plain"].startswith("0 messages captured at smtp://127.0.0.1:")
        streams = [m["content"]["text"].strip() for m in outputs if m["msg_type"] == "stream"]
        port = int(next(p for p in streams if p.isdigit()))
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:  # mail from outside: the kernel is idle
            client.sendmail(
                "pedidos@tienda.example.com", ["ana@example.org"], b"Subject: Hola desde fuera\r\n\r\nhola\r\n"
            )
        deadline = time.monotonic() + 60
        seen = []
        while time.monotonic() < deadline:
            try:
                msg = kc.get_iopub_msg(timeout=1)
            except queue.Empty:
                continue
            if msg["msg_type"].startswith("comm_"):
                seen.append(json.dumps(msg["content"], ensure_ascii=False))
                if any("Hola desde fuera" in s for s in seen) and '"children"' in seen[-1]:
                    break
        assert any("Hola desde fuera" in s for s in seen), "the new row's widgets were never sent to the front end"
        assert '"method": "update"' in seen[-1] and '"children"' in seen[-1], "the table was not updated"
        kc.execute_interactive("view.close(); server.stop()", timeout=60)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


# --------------------------------------------------------------------------- opening a message


def test_clicking_a_row_opens_the_explorer_envelope_raw_source_and_attachments(smtp_server, view, confirmation):
    invoice = make_mixed(confirmation)
    add_attachment(invoice, PDF, filename="factura-Núñez.pdf")
    for name in ("From", "To", "Subject", "Date", "Message-ID"):
        invoice[name] = confirmation[name]
    set_header(invoice, "Bcc", "archivo@tienda.example.com")
    send(smtp_server, invoice)
    eventually(lambda: with_class(view.widget, "mimekit-inbox-row-0"), "the row")
    message_box = one(view.widget, "mimekit-inbox-message")
    assert message_box.layout.display == "none"
    one(view.widget, "mimekit-inbox-row-0").click()
    captured = smtp_server.inbox[0]
    assert view.selected == 0 and message_box.layout.display is None
    assert "mimekit-inbox-row-selected" in one(view.widget, "mimekit-inbox-row-0")._dom_classes
    assert isinstance(view.explorer, MessageExplorer) and view.explorer.raw == captured.raw
    assert one(view.widget, "mimekit-explorer") is view.explorer.widget
    envelope = one(view.widget, "mimekit-inbox-envelope").value
    assert "RCPT TO: &lt;jose.nunez@example.com&gt;, &lt;archivo@tienda.example.com&gt;" in envelope  # the Bcc
    raw = one(view.widget, "mimekit-inbox-raw").value
    assert "Content-Transfer-Encoding: base64" in raw and "Bcc" not in raw
    links = [a for tag, a in html_elements(one(view.widget, "mimekit-inbox-attachments").value) if tag == "a"]
    assert [link["download"] for link in links] == ["logo.png", "factura-Núñez.pdf"]
    prefix = "data:application/octet-stream;base64,"
    assert base64.b64decode(links[1]["href"].removeprefix(prefix)) == PDF
    logo = next(p for p in captured.message.walk() if p.get_content_type() == "image/png")
    assert view.attachments() == [("logo.png", logo.get_payload(decode=True)), ("factura-Núñez.pdf", PDF)]


def test_select_takes_inbox_numbers_and_says_which_exist(smtp_server, view, text_message):
    send(smtp_server, text_message(subject="uno"))
    send(smtp_server, text_message(subject="dos"))
    assert view.select(-1).message["Subject"] == "dos"
    assert view.selected == 1
    with pytest.raises(IndexError, match="shows messages 0 to 1; there is no message 2"):
        view.select(2)
    view.clear()
    assert view.selected is None and view.explorer is None
    assert one(view.widget, "mimekit-inbox-message").layout.display == "none"


def test_clearing_the_inbox_empties_the_panes_of_the_message_that_was_open(smtp_server, view, text_message):
    send(smtp_server, text_message(subject="se borrará"))
    view.select(0)
    panes = ("mimekit-inbox-envelope", "mimekit-inbox-raw", "mimekit-inbox-attachments")
    assert all(one(view.widget, name).value for name in panes)
    assert with_class(view.widget, "mimekit-explorer")
    view.clear()
    assert [one(view.widget, name).value for name in panes] == ["", "", ""]  # nothing stale kept in the page
    assert with_class(view.widget, "mimekit-explorer") == []


def test_the_table_shows_the_newest_max_rows(smtp_server, text_message):
    for subject in ("uno", "dos", "tres"):
        send(smtp_server, text_message(subject=subject))
    view = inbox_view(smtp_server, max_rows=2)
    try:
        assert [b.description for b in with_class(view.widget, "mimekit-inbox-row")] == ["1", "2"]
        assert "(the newest 2 shown)" in one(view.widget, "mimekit-inbox-status").value
        with pytest.raises(IndexError):
            view.select(0)
    finally:
        view.close()


# --------------------------------------------------------------------------- static fallbacks


def test_static_html_and_text_are_a_snapshot_with_escaped_values(smtp_server, text_message):
    send(smtp_server, text_message(subject="<script>alert(1)</script> ¿Ñandú?"))
    smtp_server.inbox.wait_for(1)
    view = inbox_view(smtp_server)  # not displayed: no thread
    page = view._repr_html_()
    assert updaters() == []
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; ¿Ñandú?" in page
    captured = smtp_server.inbox[0]
    stamp = captured.received_at.isoformat(sep=" ", timespec="seconds")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\+00:00", stamp)  # what sanitize.cfg masks
    assert f"<td>{stamp}</td>" in page and f"{captured.size:,}</td>" in page
    assert page == inbox_view(smtp_server)._repr_html_()
    text = str(view)
    assert text.splitlines()[1] == (
        f"[0] {stamp}  Tienda Ñandú <pedidos@tienda.example.com> → José Núñez <jose.nunez@example.com>  "
        f"'<script>alert(1)</script> ¿Ñandú?'  {captured.size:,} bytes"
    )


def test_display_bundle_outside_a_kernel_is_the_snapshot_and_starts_no_thread(smtp_server):
    view = inbox_view(smtp_server)
    bundle = view._repr_mimebundle_()
    assert bundle == {"text/plain": str(view), "text/html": view._repr_html_()}
    assert not view.is_live and updaters() == []


def test_inbox_view_takes_a_server_an_inbox_or_the_default_server():
    inbox = Inbox()
    assert inbox_view(inbox).inbox is inbox and inbox_view(inbox).server is None
    stop_server()
    with pytest.raises(LookupError, match="start_server"):
        inbox_view()
    server = start_server()
    try:
        assert inbox_view().server is server
    finally:
        stop_server()
    with pytest.raises(TypeError, match="not str"):
        inbox_view("smtp://127.0.0.1:25")
    with pytest.raises(ValueError, match="interval"):
        inbox_view(inbox, interval=0)


def test_a_message_dropped_into_the_maildir_by_hand_shows_its_headers_and_no_envelope(tmp_path, confirmation):
    folder = tmp_path / "maildir"
    mailbox.Maildir(folder).add(as_smtp_bytes(confirmation))
    with EmbeddedServer(maildir=folder) as server:
        view = inbox_view(server)
        assert "Tienda Ñandú <pedidos@tienda.example.com> → José Núñez" in str(view)
        displayed(view)
        view.select(0)
        assert "envelope unknown" in one(view.widget, "mimekit-inbox-envelope").value
        view.close()
