"""``mimekit serve`` as a real process: ready line, one line per message, clean stop on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import smtplib
import socket
import subprocess
import sys

import pytest

from mimekit import as_smtp_bytes, make_text_part, set_header


def start(*args: str) -> tuple[subprocess.Popen[str], int, list[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "mimekit", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONUNBUFFERED": "1"},
    )
    lines = []
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if "press Ctrl-C" in line:
            break
    match = re.search(r"listening on (smtp[+a-z]*)://127\.0\.0\.1:(\d+)", "\n".join(lines))
    assert match, (lines, process.stderr.read() if process.poll() is not None else "")
    return process, int(match.group(2)), lines


def stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=15)
    return process.returncode, out


def message(subject: str) -> bytes:
    msg = make_text_part("Hola\n")
    set_header(msg, "From", "pedidos@tienda.example.com")
    set_header(msg, "To", "jose.nunez@example.com")
    set_header(msg, "Subject", subject)
    return as_smtp_bytes(msg)


def test_serve_prints_ready_then_one_line_per_message_and_stops_cleanly_on_sigterm():
    process, port, lines = start()
    try:
        assert lines[0].startswith("mimekit serve: listening on smtp://127.0.0.1:")
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
            client.sendmail("pedidos@tienda.example.com", ["jose.nunez@example.com"], message("Envío nº 1"))
        captured = process.stdout.readline()
        assert 'pedidos@tienda.example.com -> jose.nunez@example.com  "Envío nº 1"' in captured
    finally:
        code, rest = stop(process)
    assert code == 0
    assert "stopped after 1 message" in rest


def test_serve_with_tls_and_auth_writes_the_lesson_ca_for_other_clients():
    import ssl

    process, port, lines = start("--tls", "--auth", "alumno:contrasena-de-prueba")
    try:
        [ca_line] = [line for line in lines if "trust the lesson CA in" in line]
        ca_path = ca_line.rsplit(" in ", 1)[1]
        context = ssl.create_default_context(cafile=ca_path)
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
            client.starttls(context=context)
            assert client.login("alumno", "contrasena-de-prueba")[0] == 235
    finally:
        code, _ = stop(process)
    assert code == 0
    assert not os.path.exists(ca_path)  # removed on stop


def test_serve_applies_faults_from_the_command_line():
    process, port, _ = start("--fault", "reject:nobody@*")
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
            refused = client.sendmail(
                "pedidos@tienda.example.com", ["jose.nunez@example.com", "nobody@example.org"], message("x")
            )
        assert list(refused) == ["nobody@example.org"]
    finally:
        stop(process)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--host", "0.0.0.0"], "--allow-remote"),
        (["--fault", "nonsense"], "Accepted forms"),
        (["--auth", "sin-contrasena"], "USER:PASSWORD"),
        (["--auth", "alumno:x"], "--auth needs --tls (STARTTLS) or --smtps"),
        (["--max-size", "-5"], "--max-size is a number of bytes"),
    ],
)
def test_serve_refuses_bad_options_with_status_2(args, error):
    result = subprocess.run(
        [sys.executable, "-m", "mimekit", "serve", "--port", "0", *args],
        capture_output=True, text=True, timeout=30, env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert result.returncode == 2
    assert error in result.stderr


def test_serve_on_a_busy_port_says_which_flag_to_change():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "mimekit", "serve", "--port", str(port)],
            capture_output=True, text=True, timeout=30, env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        )
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "--port 0 picks a free one" in result.stderr
