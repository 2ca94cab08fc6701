"""Is a pipeline used for training or for evaluation? Read from the names
around it: what it is assigned to, the dict key that holds it, the function
that returns it, the dataset it is passed to (``train=False``, ``split="val"``,
``valdir``), the branch of ``if is_train:`` it sits in. The innermost
decisive name wins; a name that says both (``train_test``) decides nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import libcst as cst

from orderlint.extract.index import CallSite, Recorded, dotted_name, last_name
from orderlint.extract.values import string_value

EVAL_WORDS = frozenset({"val", "valid", "validation", "eval", "evaluate", "evaluation", "test", "testing", "inference"})
# Words that mark intended randomness: training, augmentation, test-time augmentation.
TRAIN_WORDS = frozenset({"train", "training", "trainval", "aug", "augment", "augmentation", "augmented", "tta"})
SPLIT_KEYWORDS = frozenset({"split", "mode", "subset", "phase", "stage", "image_set"})
TRAIN_FLAG_KEYWORDS = frozenset({"train", "is_train", "training", "is_training"})

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


@dataclass(frozen=True)
class Purpose:
    kind: str  # "eval" or "train"
    evidence: str


def words(text: str) -> set:
    return {w.lower() for w in _WORD.findall(text)}


def classify(text: str) -> Optional[str]:
    found = words(text)
    is_eval, is_train = bool(found & EVAL_WORDS), bool(found & TRAIN_WORDS)
    if is_eval and not is_train:
        return "eval"
    if is_train and not is_eval:
        return "train"
    return None


def pipeline_purpose(site: CallSite, code: Callable[[cst.CSTNode], str], uses: "ArgumentUses") -> Optional[Purpose]:
    """From the names around the pipeline, innermost first; failing that, from the calls its variable is passed to."""
    chain = site.ancestors + (site.node,)
    for depth in range(len(chain) - 2, -1, -1):
        parent, child = chain[depth], chain[depth + 1]
        for kind, evidence in _evidence(parent, child, code):
            if kind is not None:
                return Purpose(kind, evidence)
        if isinstance(parent, (cst.ClassDef, cst.Module)):
            break
    for call, arg in consumers(site, uses):
        for kind, evidence in _call_evidence(call, arg, code, by_callee=False):
            if kind == "eval":
                return Purpose(kind, f"{_variable(site)} is {evidence}")
    return None


def _variable(site: CallSite) -> Optional[str]:
    """The name a pipeline is assigned to (``tf = Compose(...)``), if any."""
    parent = site.ancestors[-1] if site.ancestors else None
    if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
        return dotted_name(parent.targets[0].target)
    if isinstance(parent, cst.AnnAssign):
        return dotted_name(parent.target)
    return None


class ArgumentUses:
    """Per function (or the module), the calls written in it, nested functions included, that receive each
    name as an argument; from the calls the index recorded, grouped once."""

    def __init__(self, recorded: Sequence[Recorded]) -> None:
        self._recorded = recorded
        self._scopes: Optional[Dict[int, Dict[str, List[Tuple[cst.Call, cst.Arg]]]]] = None

    def __call__(self, scope: Union[cst.FunctionDef, cst.Module], name: str) -> List[Tuple[cst.Call, cst.Arg]]:
        if self._scopes is None:
            self._scopes = {}
            for _, node, ancestors in self._recorded:
                if type(node) is not cst.Call:
                    continue
                for arg in node.args:
                    key = dotted_name(arg.value)
                    if key is None:
                        continue
                    for enclosing in ancestors:
                        if type(enclosing) is cst.FunctionDef or type(enclosing) is cst.Module:
                            self._scopes.setdefault(id(enclosing), {}).setdefault(key, []).append((node, arg))
        return self._scopes.get(id(scope), {}).get(name, [])


def consumers(site: CallSite, uses: ArgumentUses) -> List[Tuple[cst.Call, cst.Arg]]:
    """The calls a pipeline is handed to: the call it is written in, or those that receive its variable."""
    parent = site.ancestors[-1] if site.ancestors else None
    if isinstance(parent, cst.Arg) and len(site.ancestors) > 1 and isinstance(site.ancestors[-2], cst.Call):
        return [(site.ancestors[-2], parent)]
    name = _variable(site)
    if name is None:
        return []
    return uses(site.enclosing(cst.FunctionDef, cst.Module), name)


def _evidence(parent: cst.CSTNode, child: cst.CSTNode, code) -> Iterator[Tuple[Optional[str], str]]:
    if isinstance(parent, (cst.Assign, cst.AnnAssign)):
        targets = [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [parent.target]
        for target in targets:
            name = _target_text(target, code)
            if name:
                yield classify(name), f"assigned to `{name}`"
    elif isinstance(parent, cst.DictElement) and child is parent.value:
        key = parent.key
        if isinstance(key, cst.SimpleString) and string_value(key) is not None:
            yield classify(string_value(key)), f"under the key {code(key)}"
    elif isinstance(parent, cst.Call) and child is not parent.func:
        yield from _call_evidence(parent, child, code)
    elif isinstance(parent, cst.If):
        yield _branch(parent.test, child is parent.body, code)
    elif isinstance(parent, cst.IfExp):
        yield _branch(parent.test, child is parent.body, code)
    elif isinstance(parent, cst.IndentedBlock):
        yield from _after_early_return(parent, child, code)
    elif isinstance(parent, (cst.FunctionDef, cst.ClassDef)):
        name = parent.name.value
        if not name.startswith(("test", "Test")):  # a unit test of the pipeline says nothing about its use
            yield classify(name), f"in `{name}`"


def _target_text(target: cst.BaseExpression, code) -> Optional[str]:
    if isinstance(target, cst.Name):
        return target.value
    if isinstance(target, cst.Attribute):
        return target.attr.value
    if isinstance(target, cst.Subscript):
        return code(target)
    return None


def _call_evidence(call: cst.Call, child, code, by_callee: bool = True) -> Iterator[Tuple[Optional[str], str]]:
    """A pipeline passed to a call (a dataset, usually): the call's other arguments tell the split,
    and, for a pipeline written inside the call, the callee's name (``build_val_dataset(...)``)."""
    for arg in call.args:
        if arg is child or arg.value is child:
            continue
        keyword = arg.keyword.value if arg.keyword else None
        if keyword in TRAIN_FLAG_KEYWORDS and isinstance(arg.value, cst.Name) and arg.value.value in ("True", "False"):
            yield ("train" if arg.value.value == "True" else "eval"), f"passed with `{keyword}={arg.value.value}`"
        elif keyword in SPLIT_KEYWORDS and isinstance(arg.value, cst.SimpleString):
            if string_value(arg.value) is not None:
                yield _split_kind(string_value(arg.value)), f"passed with `{keyword}={code(arg.value)}`"
        elif keyword is None:
            for text in _names_in(arg.value):
                yield classify(text), f"passed with `{text}`"
    name = last_name(call.func)
    if name and by_callee:
        yield classify(name), f"passed to `{name}`"


def _names_in(node: cst.BaseExpression) -> Iterator[str]:
    """Names and strings of a positional argument, one call deep (``os.path.join(root, "val")``)."""
    if isinstance(node, cst.Name):
        yield node.value
    elif isinstance(node, cst.Attribute):
        yield node.attr.value
    elif isinstance(node, cst.SimpleString):
        if string_value(node) is not None:
            yield string_value(node)
    elif isinstance(node, cst.Call):
        for arg in node.args:
            if isinstance(arg.value, (cst.Name, cst.Attribute, cst.SimpleString)):
                yield from _names_in(arg.value)


_COMPARISON = re.compile(r"""^\(?\s*[\w.]+\s*(==|!=)\s*['"](\w+)['"]\s*\)?$""")
_FLAG = re.compile(r"^\(?\s*([\w.]+)\s*\)?$")
_FLAG_WORDS = frozenset({"is", "train", "training", "eval", "evaluation", "val", "valid", "validation", "test",
                         "testing", "inference", "do", "mode", "phase", "self", "args", "cfg", "config", "opt"})


def condition_purpose(condition: str) -> Optional[str]:
    """What holds where ``condition`` is true, for the two forms that switch between splits:
    a flag (`is_train`, `self.training`, `not args.eval`) and a comparison with a split name
    (`split == "val"`, `mode != 'train'`). Anything else (`train_crop_mode == "a"`) says nothing."""
    negated = condition.startswith("not ")
    text = condition[4:] if negated else condition
    comparison = _COMPARISON.match(text)
    if comparison:
        operator, split = comparison.groups()
        kind = _split_kind(split)
        negated ^= operator == "!="
    else:
        flag = _FLAG.match(text)
        if flag is None or not words(flag.group(1)) <= _FLAG_WORDS:
            return None
        kind = classify(flag.group(1).rsplit(".", 1)[-1])
    if kind is None or not negated:
        return kind
    return "train" if kind == "eval" else "eval"


def _split_kind(split: str) -> Optional[str]:
    if split in ("val", "valid", "validation", "test", "eval"):
        return "eval"
    if split in ("train", "trainval"):
        return "train"
    return None


def _branch(test: cst.BaseExpression, in_body: bool, code) -> Tuple[Optional[str], str]:
    text = code(test)
    kind = condition_purpose(text if in_body else f"not ({text})")
    branch = "body" if in_body else "else branch"
    return kind, f"in the {branch} of `if {text}`"


def _after_early_return(block: cst.IndentedBlock, statement, code) -> Iterator[Tuple[Optional[str], str]]:
    """``if is_train: return ...`` earlier in the block: what follows is the other case."""
    for earlier in block.body:
        if earlier is statement:
            return
        if isinstance(earlier, cst.If) and earlier.orelse is None and _exits(earlier.body):
            kind, _ = _branch(earlier.test, False, code)
            yield kind, f"after `if {code(earlier.test)}: return`"


def _exits(body: cst.BaseSuite) -> bool:
    last = body.body[-1] if isinstance(body, cst.IndentedBlock) and body.body else None
    if isinstance(last, cst.SimpleStatementLine):
        return isinstance(last.body[-1], (cst.Return, cst.Raise))
    return False
