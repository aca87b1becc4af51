"""A live view of the embedded server's inbox: a table of captured mail that grows as mail arrives.

:func:`inbox_view` shows ``server.inbox`` as a mail client shows a folder: one
row per captured message (time received, From, To, Subject, size in bytes),
oldest first and numbered as ``server.inbox[n]`` numbers them. Like a mail
client, the table shows the display names of From and To (``José Núñez``);
hover over one for the whole header with the addresses. Click a row
(or call :meth:`InboxView.select`) and below the table you get

* the SMTP envelope (``MAIL FROM`` / ``RCPT TO``, RFC 5321 §3.3), which can
  differ from the From / To headers: a Bcc recipient is only here;
* the message's :class:`~mimekit.explorer.MessageExplorer` (its MIME tree);
* its raw source, the exact bytes the server received;
* its attachments, each with a download link.

The table keeps itself up to date without blocking the notebook: a background
thread waits on the inbox (:meth:`~mimekit.server.Inbox.wait_for_change`) and
redraws as soon as a message arrives or the inbox is cleared; a stopping
server wakes it too, and it also looks every ``interval`` seconds whether its
widget was closed. It stops when the
server stops, when you call :meth:`InboxView.close`, or when a newer view of
the same inbox replaces it, so rerunning a cell never piles up threads: each
inbox has at most one live view.

Where widgets do not run, the view is a static HTML table (times in UTC,
ISO 8601) or, in a terminal, the same table as text.

CSS classes of the interactive view, for browser tests and custom styling
(``N`` is the message's number in the inbox):

==============================  ==================================================
``mimekit-inbox``               the whole view (also on the static HTML)
``mimekit-inbox-status``        how many messages, the server's URL, live or stopped
``mimekit-inbox-clear``         the button that empties the server's inbox
``mimekit-inbox-table``         the table of messages
``mimekit-inbox-heading``       a column heading
``mimekit-inbox-row``           the button that opens a message (first cell of its row)
``mimekit-inbox-row-N``         the button that opens message N
``mimekit-inbox-row-selected``  the button of the open message
``mimekit-inbox-cell``          the other cells: time, From, To, Subject, size (the full value as tooltip)
``mimekit-inbox-message``       the open message, below the table
``mimekit-inbox-envelope``      its envelope and reception details
``mimekit-inbox-tabs``          the tabs "Parts", "Raw source", "Attachments"
``mimekit-inbox-raw``           the exact bytes received
``mimekit-inbox-attachments``   the list of attachments with download links
``mimekit-download``            one download link
==============================  ==================================================
"""

from __future__ import annotations

import datetime
import html as _html
import threading
from typing import Any

from .errors import MimekitError
from .explorer import _WRAP, MessageExplorer, _close_tree, _download_name, _in_pane, _pre, explore
from .headers import parse_addresses
from .preview import _header_text, _require_widgets, _widget_bundle
from .server import CapturedMessage, EmbeddedServer, Inbox, running_servers

__all__ = ["InboxView", "inbox_view"]

#: Seconds the live view waits for a second message before redrawing, so a burst arrives as one update.
_BURST_WAIT = 0.1

# The live view of each inbox (by id): a new view of the same inbox stops the old one's thread.
_live_views: dict[int, InboxView] = {}
_live_lock = threading.Lock()


class InboxView:
    """The captured messages of an :class:`~mimekit.server.Inbox` as a table that updates itself.

    ``inbox`` is the inbox shown, ``server`` the :class:`~mimekit.server.EmbeddedServer`
    that fills it (``None`` when the view was made from an inbox alone).
    ``interval`` is in seconds: how often, at most, the view checks whether
    its widget was closed (new mail, a cleared inbox and a stopped server are
    shown at once).
    ``max_rows`` is how many of the newest messages the table shows.

    The live updater starts when the view is first displayed (or its
    :attr:`widget` is first used) while the server runs; :attr:`is_live` says
    whether it still runs.
    """

    def __init__(
        self,
        inbox: Inbox,
        *,
        server: EmbeddedServer | None = None,
        interval: float = 0.5,
        max_rows: int = 100,
    ) -> None:
        if not isinstance(interval, (int, float)) or isinstance(interval, bool) or interval <= 0:
            raise ValueError(f"interval is a number of seconds above 0, such as 0.5, not {interval!r}")
        if not isinstance(max_rows, int) or isinstance(max_rows, bool) or max_rows < 1:
            raise ValueError(f"max_rows is a whole number of rows, 1 or more, such as 100, not {max_rows!r}")
        self.inbox = inbox
        self.server = server
        self.interval = float(interval)
        self.max_rows = max_rows
        self._lock = threading.RLock()
        self._shown: list[CapturedMessage] = []  # the messages in the table, oldest first
        self._first_number = 0  # the inbox number of the first row
        self._selected: CapturedMessage | None = None
        self._explorers: dict[int, tuple[CapturedMessage, MessageExplorer]] = {}
        self._state = "not displayed yet"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._widget: Any = None
        self._w: dict[str, Any] = {}
        self._row_widgets: list[list[Any]] = []

    # -- reading the inbox

    @property
    def messages(self) -> list[CapturedMessage]:
        """The messages the table shows, oldest first (the newest ``max_rows`` of the inbox).

        A view that is not live reads the inbox again first.
        """
        with self._lock:
            if not self.is_live:
                self.refresh()
            return list(self._shown)

    @property
    def is_live(self) -> bool:
        """Whether the background updater runs (it stops with the server, :meth:`close` or a newer view)."""
        thread = self._thread
        return thread is not None and thread.is_alive() and not self._stop.is_set()

    @property
    def selected(self) -> int | None:
        """The inbox number of the open message, or ``None`` when none is open."""
        with self._lock:
            if self._selected is None:
                return None
            for offset, captured in enumerate(self._shown):
                if captured is self._selected:
                    return self._first_number + offset
            return None

    @property
    def explorer(self) -> MessageExplorer | None:
        """The :class:`~mimekit.explorer.MessageExplorer` of the open message, or ``None``."""
        with self._lock:
            return None if self._selected is None else self._explorer_for(self._selected)

    def refresh(self) -> bool:
        """Bring the table up to date with the inbox now; return whether anything changed.

        The live updater calls this for you; call it yourself on a view that
        is not live (e.g. after the server stopped and started again).
        """
        with self._lock:
            snapshot = self.inbox.messages()
            first = max(0, len(snapshot) - self.max_rows)
            wanted = snapshot[first:]
            same = len(wanted) == len(self._shown) and all(a is b for a, b in zip(wanted, self._shown))
            if first == self._first_number and same:
                return False
            appended = (
                first == self._first_number
                and len(wanted) > len(self._shown)
                and all(a is b for a, b in zip(wanted, self._shown))
            )
            previous = len(self._shown)
            self._shown, self._first_number = wanted, first
            if self._selected is not None and not any(c is self._selected for c in wanted):
                self._selected = None
            alive = {id(c) for c in snapshot}
            self._explorers = {k: v for k, v in self._explorers.items() if k in alive}
            if self._widget is not None:
                if appended:
                    self._append_rows(previous)
                else:
                    self._rebuild_rows()
                self._show_selected()
                self._update_status()
            return True

    def select(self, number: int) -> MessageExplorer:
        """Open message *number* (as in ``server.inbox[number]``; ``-1`` is the newest) below the table.

        Returns its :class:`~mimekit.explorer.MessageExplorer`. Raises
        ``IndexError`` when the table does not show that message (the inbox
        holds fewer, or it is older than the newest ``max_rows``), ``TypeError``
        for a number that is not an int.
        """
        if not isinstance(number, int) or isinstance(number, bool):
            raise TypeError(f"select() takes a message number (an int), not {type(number).__name__}")
        with self._lock:
            self.refresh()
            last = self._first_number + len(self._shown) - 1
            position = number if number >= 0 else last + 1 + number
            if not self._first_number <= position <= last:
                held = (
                    f"messages {self._first_number} to {last}" if self._shown else "no message"
                )
                raise IndexError(
                    f"The table shows {held}; there is no message {number} in it. "
                    "Send one first, or call refresh() if the inbox changed."
                )
            self._selected = self._shown[position - self._first_number]
            explorer = self._explorer_for(self._selected)
            if self._widget is not None:
                self._show_selected()
            return explorer

    def clear(self) -> int:
        """Empty the inbox (``inbox.clear()``: its Maildir files too, if any) and the table; return how many went."""
        with self._lock:
            removed = self.inbox.clear()
            self.refresh()
            return removed

    def attachments(self, number: int | None = None) -> list[tuple[str, bytes]]:
        """The files of message *number* (default: the open one) as ``(file name, decoded bytes)`` pairs.

        The files are what a mail client offers to save: parts with
        ``Content-Disposition: attachment`` and inline parts with a file name
        (RFC 2183). The name is the one the download link saves under: the
        decoded file name (RFC 2231) with ``/``, ``\\`` and control characters
        made ``_``, or ``part-N.ext`` when the part names none.

        Raises ``IndexError`` as :meth:`select` does, and ``ValueError`` when
        no message is open and *number* is not given.
        """
        with self._lock:
            if number is None:
                if self._selected is None:
                    raise ValueError("No message is open: pass a message number, or select() one first.")
                captured = self._selected
            else:
                captured = self._captured(number)
            explorer = self._explorer_for(captured)
        return [(_download_name(node), node.decoded() or b"") for node in explorer.files]

    def _captured(self, number: int) -> CapturedMessage:
        last = self._first_number + len(self._shown) - 1
        position = number if number >= 0 else last + 1 + number
        if not self._first_number <= position <= last:
            raise IndexError(f"The table shows no message {number}.")
        return self._shown[position - self._first_number]

    def _explorer_for(self, captured: CapturedMessage) -> MessageExplorer:
        cached = self._explorers.get(id(captured))
        if cached is None or cached[0] is not captured:
            cached = (captured, explore(captured))
            self._explorers[id(captured)] = cached
        return cached[1]

    # -- the live updater

    def _start(self) -> None:
        """Start the background updater if the server runs; stop the older live view of this inbox."""
        if self.server is not None and not self.server.is_running:
            self._state = "server stopped: a snapshot, not updated"
            return
        with _live_lock:
            older = _live_views.get(id(self.inbox))
            _live_views[id(self.inbox)] = self
        if older is not None and older is not self:
            older._halt("replaced by a newer view of this inbox")
        self._stop.clear()
        self._state = "live"
        self._thread = threading.Thread(target=self._run, name=f"mimekit-inbox-view-{id(self):x}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        stop = self._stop
        try:
            version = self.inbox.version
            while not stop.is_set():
                now = self.inbox.wait_for_change(version, timeout=self.interval)
                changed, version = now != version, now
                if changed:
                    stop.wait(_BURST_WAIT)  # let a burst of messages arrive, then draw them together
                if stop.is_set():
                    break
                widget = self._widget
                if widget is None or getattr(widget, "comm", None) is None:  # closed from the kernel
                    self._stop.set()
                    break
                if self.server is not None and not self.server.is_running:
                    self._halt("server stopped: no longer updated")
                    self.refresh()
                    break
                if changed:
                    self.refresh()
        except Exception as exc:  # show the reason rather than dying silently in a thread
            self._halt(f"stopped by an error: {type(exc).__name__}: {exc}")
        finally:
            with _live_lock:
                if _live_views.get(id(self.inbox)) is self:
                    del _live_views[id(self.inbox)]

    def _halt(self, why: str) -> None:
        """Stop the updater and say why in the status line; wait for its thread unless called from it."""
        self._stop.set()
        self.inbox._wake()  # the updater returns from wait_for_change() at once and sees the stop
        with self._lock:
            self._state = why
            if self._widget is not None:
                self._update_status()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.interval + 5)  # woken above, it ends at once

    def close(self) -> None:
        """Stop the live updater and close the widgets (freeing them in the kernel); the data stays readable."""
        self._halt("closed")
        with self._lock:
            if self._widget is not None:
                _close_tree(self._widget)
                self._widget = None
                self._w = {}
                self._row_widgets = []

    # -- the widget

    @property
    def widget(self) -> Any:
        """The ipywidgets view (built on first use; that also starts the live updater).

        Raises ``ModuleNotFoundError`` when ipywidgets is not installed.
        """
        with self._lock:
            if self._widget is None:
                self._build_widget()
                self._start()
                self.refresh()
                self._update_status()
            return self._widget

    def _build_widget(self) -> None:
        widgets = _require_widgets()
        status = widgets.HTML("")
        status.add_class("mimekit-inbox-status")
        clear = widgets.Button(description="Clear inbox", icon="trash", tooltip="Remove every captured message")
        clear.add_class("mimekit-inbox-clear")
        clear.on_click(lambda _button: self.clear())
        status.layout.margin = "0 1em 0 0"
        toolbar = widgets.HBox([status, clear], layout=widgets.Layout(align_items="center"))
        table = widgets.GridBox(
            layout=widgets.Layout(
                grid_template_columns="auto auto minmax(7em, 1fr) minmax(7em, 1fr) minmax(12em, 3fr) auto",
                grid_gap="2px 10px",
                align_items="center",
                max_height="22em",
                overflow="auto",
            )
        )
        table.add_class("mimekit-inbox-table")
        envelope = widgets.HTML("")
        envelope.add_class("mimekit-inbox-envelope")
        raw = widgets.HTML("")
        raw.add_class("mimekit-inbox-raw")
        files = widgets.HTML("")
        files.add_class("mimekit-inbox-attachments")
        parts = widgets.VBox([])
        tabs = widgets.Tab(children=[parts, raw, files], titles=("Parts", "Raw source", "Attachments"))
        tabs.add_class("mimekit-inbox-tabs")
        message = widgets.VBox([envelope, tabs], layout=widgets.Layout(display="none", margin="1em 0 0 0"))
        message.add_class("mimekit-inbox-message")
        root = widgets.VBox([toolbar, table, message])
        root.add_class("mimekit-inbox")
        self._w = {
            "widgets": widgets, "status": status, "table": table, "message": message,
            "envelope": envelope, "raw": raw, "files": files, "parts": parts,
        }
        self._widget = root
        self._rebuild_rows()

    def _headings(self) -> list[Any]:
        widgets = self._w["widgets"]
        cells = []
        for text in ("#", "Time (UTC)", "From", "To", "Subject", "Size"):
            heading = widgets.HTML(f"<b>{_html.escape(text)}</b>")
            heading.add_class("mimekit-inbox-heading")
            cells.append(heading)
        return cells

    def _row(self, number: int, captured: CapturedMessage) -> list[Any]:
        widgets = self._w["widgets"]
        opener = widgets.Button(
            description=str(number), tooltip=f"Open message {number}", layout=widgets.Layout(width="auto")
        )
        opener.add_class("mimekit-inbox-row")
        opener.add_class(f"mimekit-inbox-row-{number}")
        opener.on_click(lambda _button, number=number: self.select(number))
        values = _row_values(captured)
        cells = [opener]
        for text, tooltip in (
            (f"{captured.received_at.astimezone(datetime.timezone.utc):%H:%M:%S}", values["received"]),
            (_display_names(values["from"], "From"), values["from"]),  # names shown, the addresses on hover
            (_display_names(values["to"], "To"), values["to"]),
            (values["subject"], values["subject"]),
            (f"{values['size']:,} bytes", f"{values['size']:,} bytes as received"),
        ):
            cell = widgets.Label(text, tooltip=tooltip)
            cell.add_class("mimekit-inbox-cell")
            cells.append(cell)
        return cells

    def _rebuild_rows(self) -> None:
        for row in self._row_widgets:
            for cell in row:
                cell.close()
        self._row_widgets = [
            self._row(self._first_number + offset, captured) for offset, captured in enumerate(self._shown)
        ]
        self._w["table"].children = self._headings() + [cell for row in self._row_widgets for cell in row]

    def _append_rows(self, previous: int) -> None:
        new_rows = [
            self._row(self._first_number + offset, captured)
            for offset, captured in enumerate(self._shown[previous:], start=previous)
        ]
        self._row_widgets.extend(new_rows)
        table = self._w["table"]
        table.children = tuple(table.children) + tuple(cell for row in new_rows for cell in row)

    def _update_status(self) -> None:
        count = len(self.inbox)
        where = f" · {self.server.url}" if self.server is not None else ""
        shown = f" (the newest {len(self._shown)} shown)" if count > len(self._shown) else ""
        self._w["status"].value = _html.escape(
            f"{count} message{'s' if count != 1 else ''}{shown}{where} · {self._state}"
        )

    def _show_selected(self) -> None:
        number = self.selected
        for row in self._row_widgets:
            opener = row[0]
            chosen = number is not None and opener.description == str(number)
            opener.button_style = "info" if chosen else ""
            if chosen:
                opener.add_class("mimekit-inbox-row-selected")
            else:
                opener.remove_class("mimekit-inbox-row-selected")
        message = self._w["message"]
        if self._selected is None:  # hidden and emptied: no stale message kept in the page or a saved notebook
            message.layout.display = "none"
            for pane in ("envelope", "raw", "files"):
                self._w[pane].value = ""
            self._w["parts"].children = ()
            return
        captured = self._selected
        explorer = self._explorer_for(captured)
        self._w["envelope"].value = _in_pane(_envelope_html(number, captured))
        raw = captured.raw.decode("utf-8", errors="replace").replace("\r\n", "\n")
        self._w["raw"].value = _in_pane(
            "<p>The exact bytes received after DATA, dot-stuffing undone (line ends shown as LF; "
            "on the wire each is CRLF):</p>" + _pre(raw)
        )
        links = [explorer.download_html(node.index) for node in explorer.files]
        self._w["files"].value = _in_pane(
            "".join(links) if links else "<p>No attachments, and no inline part with a file name.</p>"
        )
        self._w["parts"].children = (explorer.widget,)
        message.layout.display = None

    # -- display

    def _rows_for_display(self) -> list[tuple[int, dict[str, Any]]]:
        with self._lock:
            if self._widget is None:  # not live: read the inbox now
                snapshot = self.inbox.messages()
                first = max(0, len(snapshot) - self.max_rows)
                return [(first + i, _row_values(c)) for i, c in enumerate(snapshot[first:])]
            return [(self._first_number + i, _row_values(c)) for i, c in enumerate(self._shown)]

    def _summary(self) -> str:
        count = len(self.inbox)
        where = f" at {self.server.url}" if self.server is not None else ""
        return f"{count} message{'s' if count != 1 else ''} captured{where}"

    def _repr_html_(self) -> str:
        rows = self._rows_for_display()
        head = "".join(
            f'<th style="text-align:left">{name}</th>'
            for name in ("#", "Received (UTC)", "From", "To", "Subject", "Size (bytes)")
        )
        body = "".join(
            "<tr>"
            f"<td>{number}</td><td>{_html.escape(v['received'])}</td><td>{_html.escape(v['from'])}</td>"
            f"<td>{_html.escape(v['to'])}</td><td>{_html.escape(v['subject'])}</td>"
            f'<td style="text-align:right">{v["size"]:,}</td>'
            "</tr>"
            for number, v in rows
        )
        return (
            '<div class="mimekit-inbox">'
            f"<p>{_html.escape(self._summary())}. A snapshot; in JupyterLab this table updates itself.</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            "</div>"
        )

    def __str__(self) -> str:
        rows = self._rows_for_display()
        lines = [self._summary() + ("" if rows else ".")]
        for number, v in rows:
            lines.append(
                f"[{number}] {v['received']}  {v['from']} → {v['to']}  {v['subject']!r}  {v['size']:,} bytes"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        where = f" {self.server.url}" if self.server is not None else ""
        count = len(self.inbox)
        return f"<InboxView{where}: {count} message{'s' if count != 1 else ''}, {self._state}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self) if cycle else str(self))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return _widget_bundle(self, text=str(self), html=self._repr_html_())


def inbox_view(
    source: EmbeddedServer | Inbox | None = None, *, interval: float = 0.5, max_rows: int = 100
) -> InboxView:
    """Return a live :class:`InboxView` of *source*'s captured mail; display it to watch mail arrive.

    *source* is an :class:`~mimekit.server.EmbeddedServer` (the view stops
    updating when it stops), an :class:`~mimekit.server.Inbox`, or ``None``
    for the server :func:`~mimekit.server.start_server` started (named
    ``"default"``). ``interval`` is in seconds (see :class:`InboxView`);
    ``max_rows`` is how many of the newest messages the table shows.

    >>> from mimekit import Inbox
    >>> print(inbox_view(Inbox()))
    0 messages captured.

    Raises ``LookupError`` when *source* is ``None`` and no default server
    runs (call ``start_server()`` first), ``TypeError`` for another type of
    *source*, ``ValueError`` for an ``interval`` or ``max_rows`` out of range.
    """
    if source is None:
        server = running_servers().get("default")
        if server is None:
            raise LookupError(
                "inbox_view() without an argument shows the default server's inbox, but no default server "
                "runs: call server = start_server() first, or pass a server or an inbox."
            )
        return InboxView(server.inbox, server=server, interval=interval, max_rows=max_rows)
    if isinstance(source, EmbeddedServer):
        return InboxView(source.inbox, server=source, interval=interval, max_rows=max_rows)
    if isinstance(source, Inbox):
        return InboxView(source, interval=interval, max_rows=max_rows)
    raise TypeError(
        f"inbox_view() takes an EmbeddedServer (from start_server()), an Inbox or nothing, not {type(source).__name__}."
    )


# --------------------------------------------------------------------------- helpers


def _row_values(captured: CapturedMessage) -> dict[str, Any]:
    """What a row shows: reception time (ISO 8601, UTC), From and To as the headers say, Subject, size."""
    message = captured.message
    sender = _header_text(message, "From") or captured.mail_from
    to = _header_text(message, "To") or ", ".join(captured.rcpt_tos)
    received = captured.received_at.astimezone(datetime.timezone.utc).isoformat(sep=" ", timespec="seconds")
    return {"received": received, "from": sender, "to": to, "subject": captured.subject, "size": captured.size}


def _display_names(value: str, field: str) -> str:
    """The display names of the mailboxes in header *field*'s *value* (decoded), or the address of one without.

    ``"Tienda Ñandú <pedidos@tienda.example.com>"`` gives ``"Tienda Ñandú"``.
    A value that is not a list of mailboxes (a group, a broken header) is
    given back as it is (RFC 5322 §3.4).
    """
    try:
        mailboxes = parse_addresses(value, header=field)
    except MimekitError:
        return value
    return ", ".join(name or address for name, address in mailboxes)


def _envelope_html(number: int | None, captured: CapturedMessage) -> str:
    values = _row_values(captured)
    if captured.envelope_known:
        envelope = (
            f"MAIL FROM:&lt;{_html.escape(captured.mail_from)}&gt; · RCPT TO: "
            + ", ".join(f"&lt;{_html.escape(r)}&gt;" for r in captured.rcpt_tos)
        )
    else:
        envelope = "envelope unknown (loaded from a Maildir without its mimekit sidecar)"
    peer = f" from {_html.escape(captured.peer)}" if captured.peer else ""
    return (
        f"<p><b>Message {number}: {_html.escape(values['subject'] or '(no Subject)')}</b><br>"
        f'<code style="{_WRAP}">{envelope}</code><br>'
        f"received {_html.escape(values['received'])}{peer} · {values['size']:,} bytes</p>"
    )
