"""Specification of the command line: ``python -m mimekit demo`` and ``inspect``, as a subprocess and in-process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mimekit import as_smtp_bytes, load_message, render_tree
from mimekit.__main__ import main

CONFIRMATION_TREE = [
    "multipart/alternative",
    "├── text/plain · charset=utf-8 · quoted-printable",
    "└── multipart/related · type=text/html",
    "    ├── text/html · charset=utf-8 · quoted-printable",
    '    └── image/png · base64 · inline · filename="logo.png" · cid=<logo.order-1001.',
]


def run_mimekit(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    """Run ``python -m mimekit ARGS`` with this interpreter (the venv), as a user would."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "mimekit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


def assert_tree_printed(output: str) -> None:
    """Every line of the order confirmation's tree is printed, in order (indent and sizes aside)."""
    lines = output.splitlines()
    position = 0
    for expected in CONFIRMATION_TREE:
        while position < len(lines) and expected not in lines[position]:
            position += 1
        assert position < len(lines), f"tree line {expected!r} not printed in order:\n{output}"
        if "multipart/" not in expected:
            assert lines[position].endswith(" bytes"), lines[position]  # leaves give their decoded size
        position += 1


@pytest.fixture
def saved_eml(tmp_path):
    """An order confirmation file written by ``python -m mimekit demo --save``."""
    result = run_mimekit("demo", "--save", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path / "out" / "01-order-confirmation.eml"


# --------------------------------------------------------------------------- demo


def test_demo_sends_captures_prints_the_tree_and_saves_the_bytes(tmp_path):
    out = tmp_path / "capturas"
    result = run_mimekit("demo", "--save", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert_tree_printed(result.stdout)
    assert [line for line in result.stdout.splitlines() if line.strip()][-1] == "8 sent, 8 captured, 0 lost"
    assert "RCPT TO:<jose.nunez@example.com>" in result.stdout
    saved = out / "01-order-confirmation.eml"
    raw = saved.read_bytes()
    msg = load_message(raw)
    assert msg["Subject"] == "Tu pedido 1001 está confirmado"
    assert msg["To"].addresses[0].display_name == "José Núñez"
    assert [p.get_content_type() for p in msg.walk()] == [
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
    ]
    assert as_smtp_bytes(msg) == raw  # what was received, byte for byte: CRLF, no Bcc
    assert f"saved the {len(raw):,} bytes received to {saved}" in result.stdout


DEMO_FILES = [
    "01-order-confirmation.eml",
    "02-shipping-notification.eml",
    "03-cart-reminder.eml",
    "04-account-created.eml",
    "05-password-changed.eml",
    "06-account-details-updated.eml",
    "07-newsletter.eml",
    "08-newsletter.eml",
]


def test_demo_saves_every_email_type_in_both_locales_and_reports_the_skipped_newsletter(tmp_path):
    out = tmp_path / "capturas"
    result = run_mimekit("demo", "--save", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == DEMO_FILES
    messages = {name: load_message((out / name).read_bytes()) for name in DEMO_FILES}
    assert {str(m["Content-Language"]) for m in messages.values()} == {"es", "en"}
    marketing = {name for name, m in messages.items() if m["List-Unsubscribe"] is not None}
    assert marketing == {"03-cart-reminder.eml", "07-newsletter.eml", "08-newsletter.eml"}
    newsletter_to = sorted(messages[n]["To"].addresses[0].addr_spec for n in ("07-newsletter.eml", "08-newsletter.eml"))
    assert newsletter_to == ["jose.nunez@example.com", "zoe.anderson@example.org"]
    assert "1 skipped (unsubscribed: inigo.martinez@example.net)" in result.stdout


def test_demo_without_save_writes_no_file(tmp_path):
    result = run_mimekit("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("8 sent, 8 captured, 0 lost")
    assert list(tmp_path.iterdir()) == []


def test_demo_in_process_returns_zero_and_prints_to_stdout(tmp_path, capsys):
    assert main(["demo", "--save", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert_tree_printed(captured.out)
    assert captured.out.rstrip().splitlines()[-1] == "8 sent, 8 captured, 0 lost"
    assert (tmp_path / "01-order-confirmation.eml").is_file()


def test_demo_that_cannot_save_exits_1_with_the_reason_on_stderr(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(["demo", "--save", str(blocker / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mimekit demo: error: ")


# --------------------------------------------------------------------------- inspect


def test_inspect_prints_headers_tree_and_legend(saved_eml):
    result = run_mimekit("inspect", str(saved_eml), cwd=saved_eml.parent)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == str(saved_eml)
    assert "  Subject:    Tu pedido 1001 está confirmado" in lines
    assert "  To:         José Núñez <jose.nunez@example.com>" in lines
    assert_tree_printed(result.stdout)
    assert render_tree(load_message(saved_eml), explain_types=True) in result.stdout
    assert any(line.startswith("multipart/related: ") for line in lines)


def test_inspect_in_process_prints_the_tree(saved_eml, capsys):
    assert main(["inspect", str(saved_eml)]) == 0
    out = capsys.readouterr().out
    assert render_tree(load_message(saved_eml)) in out


def test_inspect_of_a_missing_file_exits_1_with_a_clear_message(tmp_path):
    result = run_mimekit("inspect", "no-such-mail.eml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("mimekit inspect: error: No such message file:")
    assert str(tmp_path / "no-such-mail.eml") in result.stderr
    assert "Traceback" not in result.stderr


def test_inspect_of_a_missing_file_in_process_returns_1(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "nada.eml")]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert str(tmp_path / "nada.eml") in captured.err


def test_inspect_of_a_directory_exits_1_saying_it_is_a_folder(tmp_path):
    result = run_mimekit("inspect", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 1
    assert "is a folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_inspect_of_a_path_through_a_file_exits_1_naming_the_path(tmp_path):
    (tmp_path / "pedido.eml").write_bytes(b"Subject: x\r\n\r\nx\r\n")
    result = run_mimekit("inspect", "pedido.eml/otro.eml", cwd=tmp_path)
    assert result.returncode == 1
    assert str(tmp_path / "pedido.eml" / "otro.eml") in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads files whatever their mode")
def test_inspect_of_an_unreadable_file_exits_1_saying_permission_denied(tmp_path):
    secret = tmp_path / "secreto.eml"
    secret.write_bytes(b"Subject: x\r\n\r\nx\r\n")
    secret.chmod(0)
    try:
        result = run_mimekit("inspect", str(secret), cwd=tmp_path)
    finally:
        secret.chmod(0o600)
    assert result.returncode == 1
    assert "permission denied" in result.stderr
    assert str(secret) in result.stderr


def test_no_command_is_a_usage_error():
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2


@pytest.mark.parametrize("content", [b"", b"\x00\x01garbage\xff\xfe no headers here"], ids=["empty", "garbage"])
def test_inspect_of_a_file_with_no_headers_exits_1_with_a_clear_message(tmp_path, capsys, content):
    path = tmp_path / "not-a-message.eml"
    path.write_bytes(content)
    assert main(["inspect", str(path)]) == 1
    assert "no header lines" in capsys.readouterr().err


def test_the_grade_summary_counts_in_the_singular_and_the_plural():
    from mimekit.__main__ import _count

    assert [_count(1, "student"), _count(2, "student"), _count(0, "notebook")] == ["1 student", "2 students", "0 notebooks"]
