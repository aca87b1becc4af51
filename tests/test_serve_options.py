"""``mimekit serve --maildir DIR`` and ``--transcript`` as a real process."""

from __future__ import annotations

import base64
import os
import smtplib

import pytest

from test_serve import message, start, stop

USER, PASSWORD = "alumno", "contrasena-de-prueba"  # a throwaway lesson account, not a secret


def read_until(process, marker: str) -> list[str]:
    lines = []
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if marker in line:
            return lines
    raise AssertionError(f"{marker!r} never printed; got {lines}")


def test_serve_transcript_prints_each_session_when_it_ends():
    process, port, _ = start("--transcript")
    try:
        with smtplib.SMTP("127.0.0.1", port, local_hostname="laptop.example.com", timeout=5) as client:
            client.sendmail("pedidos@tienda.example.com", ["jose.nunez@example.com"], message("Envío nº 1"))
        printed = read_until(process, "-- connection closed --")
    finally:
        code, rest = stop(process)
    assert code == 0
    assert 'pedidos@tienda.example.com -> jose.nunez@example.com  "Envío nº 1"' in printed[0]
    session = printed[printed.index(next(line for line in printed if line.startswith("--- session 1 from 127.0.0.1:"))):]
    assert session[1].startswith("S: 220 ")
    assert "C: ehlo laptop.example.com" in session
    assert "S: 354 End data with <CR><LF>.<CR><LF>" in session
    assert any(line.startswith("C: <message: ") for line in session)
    assert session[-3:] == ["C: QUIT", "S: 221 Bye", "-- connection closed --"]
    assert "stopped after 1 message" in rest


def test_serve_transcript_masks_auth_secrets():
    import ssl

    process, port, lines = start("--tls", "--auth", f"{USER}:{PASSWORD}", "--transcript")
    try:
        ca_path = next(line for line in lines if "trust the lesson CA in" in line).rsplit(" in ", 1)[1]
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
            client.starttls(context=ssl.create_default_context(cafile=ca_path))
            client.login(USER, PASSWORD)
        printed = read_until(process, "-- connection closed --")
    finally:
        stop(process)
    text = "\n".join(printed)
    assert "-- TLS started (TLSv1." in text and "C: AUTH PLAIN ********" in text
    assert PASSWORD not in text and base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode() not in text


def test_serve_maildir_keeps_mail_between_two_runs(tmp_path):
    folder = tmp_path / "aula"
    process, port, lines = start("--maildir", str(folder))
    try:
        assert f"keeping mail in the Maildir {folder} (0 messages loaded)" in "\n".join(lines)
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
            client.sendmail("pedidos@tienda.example.com", ["jose.nunez@example.com"], message("Guardado"))
        assert "Guardado" in process.stdout.readline()
    finally:
        code, rest = stop(process)
    assert code == 0 and "stopped after 1 message" in rest
    [key] = os.listdir(folder / "new")
    assert (folder / "new" / key).read_bytes() == message("Guardado")
    assert os.listdir(folder / "mimekit-envelopes") == [f"{key}.json"]

    process, port, lines = start("--maildir", str(folder))
    try:
        assert f"keeping mail in the Maildir {folder} (1 message loaded)" in "\n".join(lines)
    finally:
        code, rest = stop(process)
    assert code == 0 and "stopped after 0 messages" in rest  # reloaded mail is not counted as new


def test_auth_user_alone_reads_the_password_from_the_environment(monkeypatch):
    from mimekit.serve import PASSWORD_ENV, _parse_auth

    assert _parse_auth(f"{USER}:{PASSWORD}") == {USER: PASSWORD}
    monkeypatch.setenv(PASSWORD_ENV, "desde-el-entorno")
    assert _parse_auth(USER) == {USER: "desde-el-entorno"}
    monkeypatch.delenv(PASSWORD_ENV)
    with pytest.raises(ValueError, match=f"--auth {USER} takes its password from the environment variable {PASSWORD_ENV}"):
        _parse_auth(USER)
    for bad in (f":{PASSWORD}", f"{USER}:", ":"):
        with pytest.raises(ValueError, match="--auth takes USER:PASSWORD"):
            _parse_auth(bad)
