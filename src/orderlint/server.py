"""The language server: ``orderlint server`` speaks LSP over standard input and output.

It needs the ``lsp`` extra (``pip install 'orderlint[lsp]'``: pygls and
lsprotocol); nothing else in orderlint imports this module.

- Diagnostics are published on ``didOpen``, ``didChange`` (full document sync)
  and ``didSave``, and cleared on ``didClose``. The rules are those the command
  line would use for the file: the nearest ``pyproject.toml`` with a
  ``[tool.orderlint]`` table, then its ``per-file-ignores``. A configuration
  error is shown once as a message and the defaults are used.
- Each diagnostic has a range (LSP positions are 0-based and counted in the
  client's position encoding, UTF-16 unless negotiated; orderlint's rows and
  columns are 1-based code points, the end exclusive), severity Warning (Error
  for OL000 and internal errors), its code with a link to the rule's
  documentation, and source ``orderlint``.
- Code actions: ``Add `# noqa: CODE``` for every diagnostic (extending an
  existing ``# noqa: ...`` on the line), and a quick fix for every diagnostic
  that carries a fix.
- Hover: over a code in a ``# noqa: OL101`` comment, or anywhere on a line with
  a diagnostic, shows the rule's documentation (what, why, example, instead).

The fix shape (``Diagnostic.fix``), as the JSON output carries it::

    {"applicability": "safe" | "unsafe",
     "message": "Move `T.Normalize` after `T.ToTensor`",   # the action's title
     "edits": [{"content": "new text",
                "location": {"row": 3, "column": 22},        # 1-based, code points
                "end_location": {"row": 3, "column": 48}}]}  # exclusive

The fix travels to the client in the LSP diagnostic's ``data`` field
(``{"fix": ...}``) and comes back with the code action request; when a client
does not send it back, the server's last results for the document are used.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from orderlint import __version__, noqa, runner
from orderlint.config import ConfigError, find_pyproject, load_config, select_rules
from orderlint.diagnostics import Diagnostic
from orderlint.engine import SYNTAX_ERROR
from orderlint.notebooks import is_notebook
from orderlint.parsing import StatementCache
from orderlint.rules import RULES_BY_CODE

SOURCE = "orderlint"
ERROR_CODES = frozenset({SYNTAX_ERROR, runner.INTERNAL_ERROR})
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # what Python's tokenizer (and so orderlint's rows) count
_NOQA_CODES = re.compile(r"#\s*(?:orderlint:\s*)?noqa\s*:\s*(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*)",
                         re.IGNORECASE)
_CODE = re.compile(r"[A-Z]+[0-9]+", re.IGNORECASE)

log = logging.getLogger(__name__)


# positions -------------------------------------------------------------------


def source_lines(text: str) -> List[str]:
    """The document's lines without line breaks, indexed as orderlint's rows (row r is ``lines[r - 1]``)."""
    return _LINE_BREAK.split(text)


def utf16_units(text: str) -> int:
    return sum(2 if ord(char) > 0xFFFF else 1 for char in text)


class Positions:
    """Converts between orderlint's 1-based code-point rows/columns and LSP positions."""

    def __init__(self, lines: Sequence[str], units=utf16_units):
        self.lines = lines
        self.units = units  # client code units in a string

    def to_lsp(self, row: int, column: int) -> lsp.Position:
        """A 1-based (row, column) in code points -> a 0-based LSP position, clamped into the document."""
        line = max(0, min(row - 1, len(self.lines) - 1))
        text = self.lines[line] if self.lines else ""
        if row - 1 > line:  # past the end: the end of the last line
            return lsp.Position(line=line, character=self.units(text))
        return lsp.Position(line=line, character=self.units(text[: max(0, column - 1)]))

    def from_lsp(self, position: lsp.Position) -> Tuple[int, int]:
        """An LSP position -> 0-based (line, code-point column)."""
        if not self.lines:
            return 0, 0
        line = max(0, min(position.line, len(self.lines) - 1))
        counted = 0
        for index, char in enumerate(self.lines[line]):
            if counted >= position.character:
                return line, index
            counted += self.units(char)
        return line, len(self.lines[line])

    def range(self, d: Diagnostic) -> lsp.Range:
        start = self.to_lsp(d.row, d.column)
        end_row, end_column = d.end_row or d.row, d.end_column or d.column
        if (end_row, end_column) < (d.row, d.column):
            end_row, end_column = d.row, d.column
        end = self.to_lsp(end_row, end_column)
        if end == start and start.line < len(self.lines):  # an empty span (OL000): the rest of the line
            line = self.lines[start.line]
            end = lsp.Position(line=start.line, character=max(start.character, self.units(line)))
        return lsp.Range(start=start, end=end)


# diagnostics -----------------------------------------------------------------


def to_lsp_diagnostic(d: Diagnostic, positions: Positions) -> lsp.Diagnostic:
    error = d.code in ERROR_CODES
    return lsp.Diagnostic(
        range=positions.range(d),
        message=d.message,
        severity=lsp.DiagnosticSeverity.Error if error else lsp.DiagnosticSeverity.Warning,
        code=d.code,
        code_description=lsp.CodeDescription(href=d.url) if d.url else None,
        source=SOURCE,
        data={"fix": d.fix} if d.fix else None,
    )


def noqa_edit(line: str, code: str) -> Optional[Tuple[int, int, str]]:
    """How to make ``# noqa`` on ``line`` cover ``code``: (start, end, new text) in code points
    of the line, or None when it already does or when no comment can go there."""
    if noqa._FILE.search(line):
        return None
    match = noqa._LINE.search(line)
    if match:
        codes = match.group("codes")
        if codes is None:
            return None  # a bare `# noqa` suppresses every code already
        if code.upper() in {c.upper() for c in _CODE.findall(codes)}:
            return None
        return match.end("codes"), match.end("codes"), f", {code}"
    stripped = line.rstrip()
    if stripped.endswith("\\"):
        return None  # a comment cannot follow a line continuation
    return len(stripped), len(line), f"  # noqa: {code}"


def _text_edit(positions: Positions, row: int, column: int, end_row: int, end_column: int, text: str) -> lsp.TextEdit:
    return lsp.TextEdit(range=lsp.Range(start=positions.to_lsp(row, column), end=positions.to_lsp(end_row, end_column)),
                        new_text=text)


def noqa_action(uri: str, diagnostic: lsp.Diagnostic, positions: Positions) -> Optional[lsp.CodeAction]:
    code = str(diagnostic.code)
    line = diagnostic.range.start.line
    if code in ERROR_CODES or line >= len(positions.lines):
        return None
    edit = noqa_edit(positions.lines[line], code)
    if edit is None:
        return None
    start, end, text = edit
    return lsp.CodeAction(
        title=f"Add `# noqa: {code}`",
        kind=lsp.CodeActionKind.QuickFix,
        diagnostics=[diagnostic],
        edit=lsp.WorkspaceEdit(changes={uri: [_text_edit(positions, line + 1, start + 1, line + 1, end + 1, text)]}),
    )


def fix_action(uri: str, diagnostic: lsp.Diagnostic, fix: dict, positions: Positions) -> Optional[lsp.CodeAction]:
    """A quick fix from a fix of the documented shape; None when it is not of that shape."""
    try:
        edits = [
            _text_edit(positions, edit["location"]["row"], edit["location"]["column"],
                       edit["end_location"]["row"], edit["end_location"]["column"], str(edit["content"]))
            for edit in fix["edits"]
        ]
    except (KeyError, TypeError):
        log.warning("ignoring a fix of unexpected shape: %r", fix)
        return None
    safe = fix.get("applicability", "safe") == "safe"
    title = fix.get("message") or f"Fix {diagnostic.code}"
    return lsp.CodeAction(
        title=title if safe else f"{title} (unsafe)",
        kind=lsp.CodeActionKind.QuickFix,
        diagnostics=[diagnostic],
        is_preferred=safe,
        edit=lsp.WorkspaceEdit(changes={uri: edits}),
    )


# hover -----------------------------------------------------------------------


def rule_markdown(code: str) -> Optional[str]:
    from orderlint.cli import rule_doc  # click is a dependency of orderlint; cli imports this module lazily

    rule = RULES_BY_CODE.get(code.upper())
    if rule is None:
        return None
    return f"{rule_doc(rule).rstrip()}\n\n[{rule.code} in the rules reference]({rule.url})"


def noqa_code_at(line: str, column: int) -> Optional[Tuple[str, int, int]]:
    """The rule code of a ``# noqa:`` comment under 0-based ``column``: (code, start, end)."""
    for comment in _NOQA_CODES.finditer(line):
        offset = comment.start("codes")
        for code in _CODE.finditer(comment.group("codes")):
            start, end = offset + code.start(), offset + code.end()
            if start <= column <= end:
                return code.group(0).upper(), start, end
    return None


# the server ------------------------------------------------------------------


class OrderlintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("orderlint", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Full)
        self.results: Dict[str, List[Diagnostic]] = {}  # uri -> the last diagnostics published
        self._reported: set = set()  # configuration errors already shown
        self.statements = StatementCache()  # each keystroke re-parses only the statement it changed

    def units(self, document):
        codec = getattr(document, "position_codec", None)
        return codec.client_num_units if codec is not None else utf16_units

    def rules_for(self, path: Optional[str]):
        """(rules, settings) for a document: its nearest [tool.orderlint], or the defaults if that is invalid."""
        directory = Path(path).parent if path else Path.cwd()
        try:
            config = load_config(find_pyproject(directory), directory)
            rules = select_rules(config.select, config.extend_select, config.ignore, config.preview)
        except ConfigError as error:
            if str(error) not in self._reported:
                self._reported.add(str(error))
                self.window_show_message(lsp.ShowMessageParams(
                    type=lsp.MessageType.Error, message=f"orderlint: {error}; using the default rules"))
            config = load_config(None, directory)
            rules = select_rules(None, [], [], False)
        return (runner.rules_for(path, rules, config) if path else rules), config.settings

    def lint(self, uri: str) -> None:
        document = self.workspace.get_text_document(uri)
        path = to_fs_path(uri) if uri.startswith("file:") else None
        if path is not None and is_notebook(path):
            diagnostics: List[Diagnostic] = []  # a notebook opened as JSON text: its rows are not the file's
        else:
            rules, settings = self.rules_for(path)
            diagnostics = runner.lint_text(document.source, path or uri, rules, settings, self.statements)
        self.results[uri] = diagnostics
        positions = Positions(source_lines(document.source), self.units(document))
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(
            uri=uri, version=document.version,
            diagnostics=[to_lsp_diagnostic(d, positions) for d in diagnostics]))

    def forget(self, uri: str) -> None:
        self.results.pop(uri, None)
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    def positions(self, uri: str) -> Positions:
        document = self.workspace.get_text_document(uri)
        return Positions(source_lines(document.source), self.units(document))

    def code_actions(self, params: lsp.CodeActionParams) -> List[lsp.CodeAction]:
        only = params.context.only
        if only and not any(lsp.CodeActionKind.QuickFix.value.startswith(str(getattr(kind, "value", kind)))
                            for kind in only):
            return []
        uri = params.text_document.uri
        positions = self.positions(uri)
        wanted = [d for d in params.context.diagnostics if d.source == SOURCE]
        known = {(d.range.start.line, d.range.start.character, str(d.code)): (d, fix)
                 for d, fix in ((to_lsp_diagnostic(d, positions), d.fix) for d in self.results.get(uri, []))}
        if not params.context.diagnostics:  # a client that does not say: every diagnostic in the range
            first, last = params.range.start.line, params.range.end.line
            wanted = [d for d, _ in known.values() if d.range.start.line <= last and d.range.end.line >= first]
        actions: List[lsp.CodeAction] = []
        for diagnostic in wanted:
            fix = diagnostic.data.get("fix") if isinstance(diagnostic.data, dict) else None
            if fix is None:
                fix = known.get((diagnostic.range.start.line, diagnostic.range.start.character,
                                 str(diagnostic.code)), (None, None))[1]
            if isinstance(fix, dict):
                action = fix_action(uri, diagnostic, fix, positions)
                if action is not None:
                    actions.append(action)
        for diagnostic in wanted:
            action = noqa_action(uri, diagnostic, positions)
            if action is not None:
                actions.append(action)
        return actions

    def hover(self, params: lsp.HoverParams) -> Optional[lsp.Hover]:
        uri = params.text_document.uri
        positions = self.positions(uri)
        line, column = positions.from_lsp(params.position)
        text = positions.lines[line] if positions.lines else ""
        under = noqa_code_at(text, column)
        if under is not None:
            code, start, end = under
            markdown = rule_markdown(code)
            if markdown is None:
                return None
            return lsp.Hover(
                contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=markdown),
                range=lsp.Range(start=positions.to_lsp(line + 1, start + 1), end=positions.to_lsp(line + 1, end + 1)))
        row = line + 1
        here = [d for d in self.results.get(uri, []) if d.row <= row <= max(d.row, d.end_row)]
        parts = []
        for code in dict.fromkeys(d.code for d in here):
            markdown = rule_markdown(code)
            if markdown is not None:
                messages = "\n".join(f"- {d.message}" for d in here if d.code == code)
                parts.append(f"**{code}** ({SOURCE})\n\n{messages}\n\n{markdown}")
        if not parts:
            return None
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value="\n\n---\n\n".join(parts)))


def create_server() -> OrderlintServer:
    server = OrderlintServer()

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: OrderlintServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.lint(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: OrderlintServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.lint(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: OrderlintServer, params: lsp.DidSaveTextDocumentParams) -> None:
        ls.lint(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: OrderlintServer, params: lsp.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                    lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]))
    def code_action(ls: OrderlintServer, params: lsp.CodeActionParams) -> List[lsp.CodeAction]:
        return ls.code_actions(params)

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    def hover(ls: OrderlintServer, params: lsp.HoverParams) -> Optional[lsp.Hover]:
        return ls.hover(params)

    return server


def start() -> None:
    """Serves one client over standard input and output until it exits."""
    create_server().start_io()
