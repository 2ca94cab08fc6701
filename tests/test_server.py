"""The language server, end to end: a real LSP client speaking JSON-RPC over stdio to
``python -m orderlint server`` in a subprocess. Every wait is bounded."""

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytest.importorskip("pygls")
pytest.importorskip("lsprotocol")

from orderlint.diagnostics import Diagnostic  # noqa: E402
from orderlint.server import (  # noqa: E402
    Positions,
    fix_action,
    noqa_code_at,
    noqa_edit,
    source_lines,
    to_lsp_diagnostic,
)
from samples import BUGGY, CLEAN  # noqa: E402

TIMEOUT = 30  # seconds, for any one answer; CI machines can be slow, a hang never waits longer

# line 2 (0-based) is `pipeline = T.Compose([T.Normalize([0.5], [0.5]), T.ToTensor()])`
NORMALIZE_RANGE = {"start": {"line": 2, "character": 22}, "end": {"line": 2, "character": 47}}


class Client:
    """A minimal LSP client: Content-Length framing, requests with ids, notifications."""

    def __init__(self, cwd: Path):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "orderlint", "server"], cwd=cwd,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.incoming: "queue.Queue[dict]" = queue.Queue()
        self.notifications = []
        self.stderr = []
        self._next_id = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self.stderr.extend(self.process.stderr), daemon=True).start()

    def _read(self) -> None:
        stream = self.process.stdout
        while True:
            length = None
            while True:
                header = stream.readline()
                if not header:
                    return
                header = header.strip()
                if not header:
                    break
                name, _, value = header.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            message = json.loads(stream.read(length).decode("utf-8"))
            if "method" in message and "id" in message:  # a request from the server: accept it
                self._send({"jsonrpc": "2.0", "id": message["id"], "result": None})
            self.incoming.put(message)

    def _send(self, message: dict) -> None:
        body = json.dumps(message).encode("utf-8")
        with self._lock:
            self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.process.stdin.flush()

    def notify(self, method: str, params) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def _next(self, what: str) -> dict:
        try:
            return self.incoming.get(timeout=TIMEOUT)
        except queue.Empty:
            raise AssertionError(f"no {what} within {TIMEOUT}s; server stderr:\n"
                                 + b"".join(self.stderr).decode("utf-8", "replace")) from None

    def request(self, method: str, params) -> object:
        self._next_id += 1
        number = self._next_id
        self._send({"jsonrpc": "2.0", "id": number, "method": method, "params": params})
        while True:
            message = self._next(f"answer to {method}")
            if message.get("id") == number and "method" not in message:
                assert "error" not in message, message["error"]
                return message["result"]
            self.notifications.append(message)

    def diagnostics(self, uri: str, version=None) -> list:
        """The next ``publishDiagnostics`` for ``uri`` (for ``version`` when given); other messages are kept."""
        while True:
            for index, message in enumerate(self.notifications):
                params = message.get("params") or {}
                if (message.get("method") == "textDocument/publishDiagnostics" and params.get("uri") == uri
                        and (version is None or params.get("version") == version)):
                    del self.notifications[index]
                    return params["diagnostics"]
            self.notifications.append(self._next(f"diagnostics for {uri}"))

    def initialize(self, root: Path) -> dict:
        result = self.request("initialize", {
            "processId": os.getpid(), "rootUri": root.as_uri(), "capabilities": {
                "textDocument": {"hover": {"contentFormat": ["markdown", "plaintext"]},
                                 "publishDiagnostics": {"codeDescriptionSupport": True, "dataSupport": True}}}})
        self.notify("initialized", {})
        return result

    def open(self, path: Path, text: str, version: int = 1) -> str:
        uri = path.as_uri()
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "python", "version": version, "text": text}})
        return uri

    def change(self, uri: str, text: str, version: int) -> None:
        self.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                               "contentChanges": [{"text": text}]})

    def close(self) -> int:
        try:
            if self.process.poll() is None:
                self.request("shutdown", None)
                self.notify("exit", None)
                return self.process.wait(timeout=TIMEOUT)
            return self.process.returncode
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=TIMEOUT)
            for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
                try:
                    stream.close()
                except OSError:
                    pass


@pytest.fixture
def client(tmp_path):
    started = Client(tmp_path)
    try:
        yield started
    finally:
        if started.process.poll() is None:
            started.process.kill()
            started.process.wait(timeout=TIMEOUT)


def apply(text: str, edits: list) -> str:
    """Applies LSP text edits (ASCII text: UTF-16 units are characters) to ``text``."""
    lines = text.split("\n")

    def offset(position):
        return sum(len(line) + 1 for line in lines[: position["line"]]) + position["character"]

    for edit in sorted(edits, key=lambda e: offset(e["range"]["start"]), reverse=True):
        text = text[: offset(edit["range"]["start"])] + edit["newText"] + text[offset(edit["range"]["end"]):]
    return text


# end to end ------------------------------------------------------------------


def test_session_diagnostics_code_actions_hover_and_shutdown(tmp_path, client):
    result = client.initialize(tmp_path)
    capabilities = result["capabilities"]
    assert capabilities["hoverProvider"] and capabilities["codeActionProvider"]
    assert result["serverInfo"]["name"] == "orderlint"

    uri = client.open(tmp_path / "train.py", BUGGY)
    (diagnostic,) = client.diagnostics(uri)
    assert diagnostic["code"] == "OL101"
    assert diagnostic["range"] == NORMALIZE_RANGE
    assert diagnostic["severity"] == 2  # Warning
    assert diagnostic["source"] == "orderlint"
    assert diagnostic["codeDescription"]["href"].endswith("#ol101-tensor-transform-before-to-tensor")
    assert "runs before `T.ToTensor`" in diagnostic["message"]

    actions = client.request("textDocument/codeAction", {
        "textDocument": {"uri": uri}, "range": diagnostic["range"], "context": {"diagnostics": [diagnostic]}})
    titles = sorted(action["title"] for action in actions)
    assert titles == ["Add `# noqa: OL101`", "Move `T.Normalize` after `T.ToTensor` (unsafe)"], titles
    noqa = next(action for action in actions if action["title"].startswith("Add"))
    assert noqa["kind"] == "quickfix"
    fixed = apply(BUGGY, noqa["edit"]["changes"][uri])
    assert fixed.splitlines()[2].endswith("T.ToTensor()])  # noqa: OL101")
    move = next(action for action in actions if action["title"].startswith("Move"))
    assert apply(BUGGY, move["edit"]["changes"][uri]).splitlines()[2] == CLEAN.splitlines()[2]

    hover = client.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                  "position": {"line": 2, "character": 3}})
    markdown = hover["contents"]["value"]
    assert hover["contents"]["kind"] == "markdown"
    assert "# OL101 tensor-transform-before-to-tensor" in markdown
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
        assert section in markdown
    assert client.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                 "position": {"line": 0, "character": 3}}) is None

    # the edit the action proposed silences the finding
    client.change(uri, fixed, version=2)
    assert client.diagnostics(uri, version=2) == []
    hover = client.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                  "position": {"line": 2, "character": len(fixed.splitlines()[2]) - 2}})
    assert "# OL101 tensor-transform-before-to-tensor" in hover["contents"]["value"]

    assert client.close() == 0


def test_change_save_and_close_republish(tmp_path, client):
    client.initialize(tmp_path)
    path = tmp_path / "train.py"
    path.write_text(CLEAN, encoding="utf-8")
    uri = client.open(path, CLEAN)
    assert client.diagnostics(uri) == []
    client.change(uri, BUGGY, version=2)
    assert [d["code"] for d in client.diagnostics(uri, version=2)] == ["OL101"]
    client.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
    assert [d["code"] for d in client.diagnostics(uri)] == ["OL101"]
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    assert client.diagnostics(uri) == []
    assert client.close() == 0


def test_configuration_of_the_nearest_pyproject_applies(tmp_path, client):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.orderlint]\nignore = ["OL101"]\n[tool.orderlint.per-file-ignores]\n"legacy/*" = ["OL1"]\n', encoding="utf-8")
    client.initialize(tmp_path)
    assert client.diagnostics(client.open(tmp_path / "pkg" / "train.py", BUGGY)) == []
    double = BUGGY.replace("T.Normalize([0.5], [0.5]), T.ToTensor()", "T.ToTensor(), T.ToTensor()")
    assert [d["code"] for d in client.diagnostics(client.open(tmp_path / "pkg" / "data.py", double))] == ["OL102"]
    assert client.diagnostics(client.open(tmp_path / "legacy" / "data.py", double)) == []
    assert client.close() == 0


def test_a_configuration_error_is_shown_once_and_the_defaults_apply(tmp_path, client):
    (tmp_path / "pyproject.toml").write_text('[tool.orderlint]\nselect = "OL1"\n', encoding="utf-8")
    client.initialize(tmp_path)
    uri = client.open(tmp_path / "train.py", BUGGY)
    assert [d["code"] for d in client.diagnostics(uri)] == ["OL101"]
    client.change(uri, BUGGY + "\n", version=2)
    assert [d["code"] for d in client.diagnostics(uri, version=2)] == ["OL101"]
    shown = [m["params"] for m in client.notifications if m.get("method") == "window/showMessage"]
    client.request("shutdown", None)  # everything the server sent before its answer has arrived
    shown += [m["params"] for m in client.notifications if m.get("method") == "window/showMessage"]
    (message,) = {(m["type"], m["message"]) for m in shown}
    assert message[0] == 1 and "`select` must be a list of strings" in message[1]
    client.notify("exit", None)
    assert client.process.wait(timeout=TIMEOUT) == 0


def test_positions_are_utf16_and_syntax_errors_are_errors(tmp_path, client):
    client.initialize(tmp_path)
    emoji = BUGGY.replace("pipeline = ", "label = '\U0001F600'; pipeline = ")
    (diagnostic,) = client.diagnostics(client.open(tmp_path / "emoji.py", emoji))
    # the emoji is one code point and two UTF-16 code units
    start = emoji.splitlines()[2].index("T.Normalize") + 1
    assert diagnostic["range"]["start"] == {"line": 2, "character": start}

    (error,) = client.diagnostics(client.open(tmp_path / "broken.py", BUGGY + "def f(:\n    pass\n"))
    assert error["code"] == "OL000" and error["severity"] == 1
    assert "codeDescription" not in error
    assert client.close() == 0


def test_code_action_offers_the_fix_a_diagnostic_carries(tmp_path, client):
    """No rule attaches fixes yet: a hand-made diagnostic carries one, as the server would send it."""
    client.initialize(tmp_path)
    uri = client.open(tmp_path / "train.py", BUGGY)
    (published,) = client.diagnostics(uri)
    fix = {"applicability": "safe", "message": "Move `T.Normalize` after `T.ToTensor`", "edits": [
        {"content": "T.ToTensor(), T.Normalize([0.5], [0.5])",
         "location": {"row": 3, "column": 23}, "end_location": {"row": 3, "column": 62}}]}
    diagnostic = {**published, "data": {"fix": fix}}
    actions = client.request("textDocument/codeAction", {
        "textDocument": {"uri": uri}, "range": diagnostic["range"], "context": {"diagnostics": [diagnostic]}})
    assert [a["title"] for a in actions] == ["Move `T.Normalize` after `T.ToTensor`", "Add `# noqa: OL101`"]
    quickfix = actions[0]
    assert quickfix["kind"] == "quickfix" and quickfix["isPreferred"] is True
    assert apply(BUGGY, quickfix["edit"]["changes"][uri]) == BUGGY.replace(
        "T.Normalize([0.5], [0.5]), T.ToTensor()", "T.ToTensor(), T.Normalize([0.5], [0.5])")
    only_source = client.request("textDocument/codeAction", {
        "textDocument": {"uri": uri}, "range": diagnostic["range"],
        "context": {"diagnostics": [diagnostic], "only": ["source.organizeImports"]}})
    assert only_source == []
    assert client.close() == 0


def test_hover_over_a_noqa_code_explains_the_rule(tmp_path, client):
    client.initialize(tmp_path)
    text = "x = 1  # noqa: OL101, OL103\n"
    uri = client.open(tmp_path / "train.py", text)
    assert client.diagnostics(uri) == []
    hover = client.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                  "position": {"line": 0, "character": text.index("OL103") + 2}})
    assert "# OL103 augment-after-normalize" in hover["contents"]["value"]
    assert hover["range"] == {"start": {"line": 0, "character": text.index("OL103")},
                              "end": {"line": 0, "character": text.index("OL103") + 5}}
    assert client.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                 "position": {"line": 0, "character": 1}}) is None
    assert client.close() == 0


def test_without_pygls_the_command_says_what_to_install(run, monkeypatch):
    for name in [n for n in sys.modules if n.partition(".")[0] == "pygls"] + ["pygls"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if the `lsp` extra were not installed
    monkeypatch.delitem(sys.modules, "orderlint.server", raising=False)
    result = run("server")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "pip install 'orderlint[lsp]'" in result.stderr


# the pieces ------------------------------------------------------------------


@pytest.mark.parametrize("line, expected", [
    ("x = f(a)", (8, 8, "  # noqa: OL101")),
    ("x = f(a)   ", (8, 11, "  # noqa: OL101")),
    ("x = f(a)  # keep this", (21, 21, "  # noqa: OL101")),
    ("x = f(a)  # noqa: OL102", (23, 23, ", OL101")),
    ("x = f(a)  # noqa:OL102,OL103  # why", (28, 28, ", OL101")),
    ("x = f(a)  # noqa: OL101", None),
    ("x = f(a)  # noqa", None),
    ("x = f(a) + \\", None),
])
def test_noqa_edit_appends_or_extends(line, expected):
    assert noqa_edit(line, "OL101") == expected


def test_noqa_code_at_finds_the_code_under_the_cursor():
    line = "y = 2  # noqa: OL101,OL104"
    assert noqa_code_at(line, line.index("OL104")) == ("OL104", line.index("OL104"), len(line))
    assert noqa_code_at(line, 2) is None
    assert noqa_code_at("# orderlint: noqa: OL108", 20) == ("OL108", 19, 24)


def test_diagnostic_conversion_and_fix_shape():
    fix = {"applicability": "unsafe", "message": "Reorder", "edits": [
        {"content": "b", "location": {"row": 1, "column": 2}, "end_location": {"row": 1, "column": 3}}]}
    d = Diagnostic("t.py", 1, 2, "OL101", "m", end_row=1, end_column=3, url="https://example.invalid/r", fix=fix)
    positions = Positions(source_lines("\u00e9\U0001F600c\n"))
    converted = to_lsp_diagnostic(d, positions)
    assert (converted.range.start.character, converted.range.end.character) == (1, 3)  # the emoji is 2 units
    assert converted.data == {"fix": fix} and converted.code_description.href == d.url
    action = fix_action("file:///t.py", converted, fix, positions)
    assert action.title == "Reorder (unsafe)" and action.is_preferred is False
    (edit,) = action.edit.changes["file:///t.py"]
    assert edit.new_text == "b" and (edit.range.start.character, edit.range.end.character) == (1, 3)
    assert fix_action("file:///t.py", converted, {"edits": [{"content": "x"}]}, positions) is None
    assert positions.from_lsp(converted.range.end) == (0, 2)
    assert Positions([]).to_lsp(5, 3).line == 0
