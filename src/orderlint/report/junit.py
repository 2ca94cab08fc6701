"""``junit``: JUnit XML, for CI test reports: one test suite, one test case
per file (a passing one for each clean file when the checked files are
known), one failure per diagnostic."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Dict, List, Optional, Sequence, TextIO

from orderlint.diagnostics import Diagnostic
from orderlint.report.common import Context, display_path, location

# Characters XML 1.0 cannot hold at all, escaped or not.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def junit(diagnostics: Sequence[Diagnostic], out: TextIO, context: Optional[Context] = None) -> None:
    context = context or Context()
    by_file: Dict[str, List[Diagnostic]] = {}
    for name in context.files or ():
        by_file.setdefault(display_path(str(name)), [])
    for d in diagnostics:
        by_file.setdefault(display_path(d.path), []).append(d)
    failing = sum(1 for found in by_file.values() if found)
    counts = {"tests": str(len(by_file)), "failures": str(failing), "errors": "0", "skipped": "0"}

    root = ET.Element("testsuites", {"name": "orderlint", **{k: counts[k] for k in ("tests", "failures", "errors")}})
    suite = ET.SubElement(root, "testsuite", {"name": "orderlint", **counts})
    for path in sorted(by_file):
        case = ET.SubElement(suite, "testcase", {"name": _xml_text(path), "classname": "orderlint", "file": _xml_text(path)})
        for d in by_file[path]:
            failure = ET.SubElement(case, "failure", {"type": d.code, "message": _xml_text(f"{d.code} {d.message}")})
            failure.text = _xml_text(f"{location(d)}: {d.code} {d.message}")
    ET.indent(root)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(root, encoding="unicode"))
    out.write("\n")
