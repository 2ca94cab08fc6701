"""The import-table resolver names what LibCST's QualifiedNameProvider names, at a fraction of the cost."""

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, QualifiedNameProvider, QualifiedNameSource

from orderlint.extract.index import ModuleIndex, NameResolver, dotted_name
from orderlint.extract.walk import walk

FIXTURES = sorted((Path(__file__).parent.parent / "fixtures").rglob("*.py"))


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: str(p.relative_to(p.parents[1] if p.parent.name == "fixes" else p.parent)))
def test_every_imported_callee_resolves_to_libcst_qualified_name(fixture):
    module = cst.parse_module(fixture.read_text(encoding="utf-8"))
    resolver = NameResolver(ModuleIndex(module, frozenset()))
    names = MetadataWrapper(module, unsafe_skip_copy=True).resolve(QualifiedNameProvider)
    compared = 0
    for node in walk(module):
        if not isinstance(node, cst.Call) or dotted_name(node.func) is None:
            continue  # a method of a call's result: LibCST makes up names such as torch.nn.functional.softmax.argmax
        found = names.get(node.func, ())
        found = found() if callable(found) else found  # LibCST may hand back a lazily computed value
        imported = {q.name for q in found if q.source == QualifiedNameSource.IMPORT}
        ours = resolver.qualify(node.func)
        if imported:
            assert ours in imported, (fixture.name, cst.Module([]).code_for_node(node.func), imported, ours)
            compared += 1
        elif ours is not None:
            # Ours names it but LibCST does not: only a module-level alias (T = torchvision.transforms) may do that.
            head = cst.Module([]).code_for_node(node.func).split(".")[0]
            assert head not in resolver._imports, (fixture.name, cst.Module([]).code_for_node(node.func), ours)
    assert compared > 0
