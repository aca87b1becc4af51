"""Maildir persistence of mimekit.server: captured mail survives a restart, byte for byte, envelope included."""

from __future__ import annotations

import datetime
import json
import mailbox
import os
import shutil
import smtplib

import pytest

from mimekit.errors import ServerStartError
from mimekit.server import EmbeddedServer, start_server, stop_server

SHOP = "shop@example.com"
ANA = "ana@example.org"
AUDIT = "audit@example.net"


def wire(subject: str, body: bytes = b"Hola\r\n") -> bytes:
    """Bytes with the awkward cases: UTF-8 header and body, a dot line, a From line, CRLF ends."""
    return (
        f"From: Tienda <{SHOP}>\r\nTo: <{ANA}>\r\nSubject: {subject}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode() + "Envío nº 1 — ¡gracias!\r\n".encode() + b".dot line\r\nFrom the shop\r\n" + body


def send(server: EmbeddedServer, raw: bytes, rcpt_tos=(ANA,)) -> None:
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        assert client.sendmail(SHOP, list(rcpt_tos), raw) == {}


def files_in(folder) -> list[str]:
    return sorted(os.listdir(folder / "new")) + sorted(os.listdir(folder / "cur"))


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "captured-mail"


def test_each_captured_message_is_written_raw_with_an_envelope_sidecar(folder):
    raw = wire("uno")
    with EmbeddedServer(maildir=folder) as server:
        send(server, raw, rcpt_tos=(ANA, AUDIT))
        captured = server.inbox.wait_for(1)[0]
    assert server.maildir == os.fspath(folder)
    [key] = files_in(folder)
    assert captured.maildir_key == key
    assert (folder / "new" / key).read_bytes() == raw  # byte for byte, CRLF and 8-bit kept
    assert mailbox.Maildir(folder, create=False).get_file(key).read() == raw
    sidecar = json.loads((folder / "mimekit-envelopes" / f"{key}.json").read_text("ascii"))
    assert sidecar == {
        "format": "mimekit-envelope/1",
        "mail_from": SHOP,
        "rcpt_tos": [ANA, AUDIT],
        "received_at": captured.received_at.isoformat(),
        "peer": captured.peer,
    }
    assert not any(name.startswith(".") for name in os.listdir(folder))  # no Maildir++ sub-folder by mistake


def test_messages_survive_stop_and_start_without_duplicates(folder):
    with EmbeddedServer(maildir=folder) as server:
        send(server, wire("uno"))
        send(server, wire("dos"))
        before = server.inbox.wait_for(2)
        server.stop()
        server.start()
        assert server.inbox.messages() == before
        send(server, wire("tres"))
        assert [m.subject for m in server.inbox.wait_for(3)] == ["uno", "dos", "tres"]
    assert len(files_in(folder)) == 3


def test_a_new_server_on_the_same_folder_shows_the_same_inbox_byte_exact_with_the_envelope(folder):
    with EmbeddedServer(maildir=folder) as first:
        send(first, wire("uno"), rcpt_tos=(ANA, AUDIT))
        send(first, wire("dos"))
        original = first.inbox.wait_for(2)
    second = EmbeddedServer(maildir=folder)
    assert len(second.inbox) == 0  # loading happens in start()
    with second:
        reloaded = second.inbox.messages()
    assert reloaded == original  # envelope, raw bytes, time and peer
    for old, new in zip(original, reloaded):
        assert new.raw == old.raw
        assert (new.mail_from, new.rcpt_tos, new.peer, new.received_at) == (
            old.mail_from, old.rcpt_tos, old.peer, old.received_at
        )
        assert new.maildir_key == old.maildir_key and new.envelope_known
        assert new.subject == old.subject
    assert second.transcripts == []  # reloaded mail came from no session of this server
    assert second.find_transcript(reloaded[0]) is None


def test_a_message_dropped_in_by_hand_loads_with_an_unknown_envelope(folder):
    raw = b"From: someone@example.net\r\nSubject: a mano\r\n\r\nhello\r\n"
    with EmbeddedServer(maildir=folder) as server:
        send(server, wire("uno"))
    key = "1700000000.M1P1Q1.elsewhere.example.net"
    (folder / "new" / key).write_bytes(raw)  # what another delivery agent would do
    with EmbeddedServer(maildir=folder) as server:
        foreign, ours = server.inbox.messages()  # oldest first: the key says 2023
    assert ours.subject == "uno" and ours.envelope_known
    assert foreign.raw == raw and foreign.maildir_key == key
    assert (foreign.mail_from, foreign.rcpt_tos, foreign.peer) == ("", (), "")
    assert not foreign.envelope_known
    assert foreign.received_at == datetime.datetime(2023, 11, 14, 22, 13, 20, tzinfo=datetime.timezone.utc)
    assert "envelope unknown" in repr(foreign) and "'a mano'" in repr(foreign)


def test_a_damaged_sidecar_counts_as_no_envelope(folder):
    with EmbeddedServer(maildir=folder) as server:
        send(server, wire("uno"))
        key = server.inbox.latest().maildir_key
    (folder / "mimekit-envelopes" / f"{key}.json").write_text("{not json", "ascii")
    with EmbeddedServer(maildir=folder) as server:
        assert not server.inbox.latest().envelope_known
        assert server.inbox.latest().raw == wire("uno")


def test_inbox_clear_also_empties_the_maildir_by_default(folder):
    with EmbeddedServer(maildir=folder) as server:
        send(server, wire("uno"))
        send(server, wire("dos"))
        assert server.inbox.clear() == 2
        assert files_in(folder) == [] and os.listdir(folder / "mimekit-envelopes") == []
        server.stop()
        server.start()
        assert len(server.inbox) == 0
    with EmbeddedServer(maildir=folder) as server:
        assert len(server.inbox) == 0


def test_inbox_clear_persisted_false_keeps_the_files_and_a_restart_reloads_them(folder):
    with EmbeddedServer(maildir=folder) as server:
        send(server, wire("uno"))
        assert server.inbox.clear(persisted=False) == 1
        assert len(server.inbox) == 0 and len(files_in(folder)) == 1
        server.stop()
        server.start()
        assert [m.subject for m in server.inbox] == ["uno"]


def test_clear_removes_only_the_files_of_the_messages_it_removed(folder):
    with EmbeddedServer(maildir=folder) as server:
        send(server, wire("uno"))
        (folder / "new" / "1700000000.M2P2Q2.later.example.net").write_bytes(b"Subject: later\r\n\r\nx\r\n")
        server.inbox.clear()  # the hand-made file arrived after start(): the inbox never held it
        assert files_in(folder) == ["1700000000.M2P2Q2.later.example.net"]


def test_a_message_that_cannot_be_stored_gets_451_and_is_not_captured(folder):
    with EmbeddedServer(maildir=folder) as server:
        shutil.rmtree(folder)
        folder.write_text("now a file, not a folder")
        with smtplib.SMTP(server.host, server.port, timeout=5) as client, pytest.raises(smtplib.SMTPDataError) as info:
            client.sendmail(SHOP, [ANA], wire("uno"))
        assert info.value.smtp_code == 451
        assert b"Maildir" in info.value.smtp_error
        assert len(server.inbox) == 0


def test_a_maildir_that_cannot_be_created_stops_start_with_server_start_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    server = EmbeddedServer(maildir=blocker / "mail")
    with pytest.raises(ServerStartError, match="Maildir") as info:
        server.start()
    assert isinstance(info.value.__cause__, OSError)
    assert not server.is_running


def test_start_server_treats_a_different_maildir_as_a_different_server(tmp_path):
    try:
        server = start_server(name="maildir-test", maildir=tmp_path / "a")
        assert start_server(name="maildir-test", maildir=tmp_path / "a") is server
        other = start_server(name="maildir-test", maildir=tmp_path / "b")
        assert other is not server and not server.is_running
    finally:
        stop_server("maildir-test")


@pytest.mark.parametrize(("maildir", "error"), [(42, TypeError), ("", ValueError)])
def test_bad_maildir_argument_is_refused(maildir, error):
    with pytest.raises(error, match="maildir"):
        EmbeddedServer(maildir=maildir)
