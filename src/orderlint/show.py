"""``orderlint show``: what flows through each pipeline and layer stack of a file, step by step."""

from __future__ import annotations

from typing import List, Optional, TextIO

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from orderlint.catalogue.state import ImageState
from orderlint.context import FileContext
from orderlint.extract import layers
from orderlint.extract.pipelines import label, pipelines_of
from orderlint.interpret import Interpreter, WalkStep

COLUMNS = ("step", "container", "dtype", "range", "channels", "size", "random")


def _cell(value) -> str:
    return "?" if value is None else str(value)


def _row(ctx: FileContext, walked: WalkStep) -> List[str]:
    state: ImageState = walked.after
    name = label(ctx, walked.step) + ("  (maybe)" if walked.maybe else "")
    if walked.outcome.fails:
        name += f"  !! {walked.outcome.kind}"
    return [name, _cell(state.container), _cell(state.dtype), _cell(state.range), _cell(state.channels),
            _cell(state.size), "yes" if state.random else "no"]


def _table(rows: List[List[str]], out: TextIO) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for number, row in enumerate(rows):
        out.write("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() + "\n")
        if number == 0:
            out.write("  " + "  ".join("-" * width for width in widths) + "\n")


def show(ctx: FileContext, path: str, line: Optional[int], out: TextIO) -> int:
    """Prints every pipeline (or the one spanning ``line``); returns how many were shown."""
    positions = MetadataWrapper(ctx.module, unsafe_skip_copy=True).resolve(PositionProvider)
    interpreter = Interpreter(ctx.code)
    shown = 0
    for pipeline in pipelines_of(ctx):
        where = positions[pipeline.node]
        if line is not None and not where.start.line <= line <= where.end.line:
            continue
        shown += 1
        out.write(f"{path}:{where.start.line}:{where.start.column + 1}: {ctx.label_call(pipeline.node)} ({pipeline.namespace})\n")
        for number, path_steps in enumerate(pipeline.paths, start=1):
            walk = interpreter.walk(path_steps, pipeline.input_channels)
            guards = list(dict.fromkeys(g for step in path_steps for g in step.guard))
            if len(pipeline.paths) > 1:
                condition = " and ".join(f"`{g}`" for g in guards) if guards else "no condition"
                out.write(f"  path {number} of {len(pipeline.paths)} ({condition})\n")
            start = walk.steps[0].before if walk.steps else ImageState()
            rows = [list(COLUMNS), ["(input)", _cell(start.container), _cell(start.dtype), _cell(start.range),
                                    _cell(start.channels), _cell(start.size), "no"]]
            rows += [_row(ctx, walked) for walked in walk.steps]
            _table(rows, out)
        out.write("\n")
    for stack in layers.stacks_of(ctx):
        where = positions[stack.node]
        if line is not None and not where.start.line <= line <= where.end.line:
            continue
        shown += 1
        kind = f"class {stack.name} (forward)" if isinstance(stack.node, cst.ClassDef) else stack.name
        out.write(f"{path}:{where.start.line}:{where.start.column + 1}: {kind}\n")
        for number, applications in enumerate(stack.walks, start=1):
            if len(stack.walks) > 1:
                out.write(f"  path {number} of {len(stack.walks)}\n")
            rows = [list(LAYER_COLUMNS)] + [_layer_row(ctx, application) for application in applications]
            _table(rows, out)
        out.write("\n")
    return shown


LAYER_COLUMNS = ("layer", "rank", "channels", "features", "output")


def _layer_row(ctx: FileContext, application: layers.Application) -> List[str]:
    """The tensor after one layer: rank, channels (dim 1), features (last dim), output kind."""
    state = application.after.state
    name = layers.label(ctx, application.use)
    if application.problem is not None:
        name += f"  !! {application.problem.kind}"
    rank = f"{state.rank}D" if state.rank is not None else None
    return [name, _cell(rank), _cell(state.channels), _cell(state.features), _cell(state.output)]
