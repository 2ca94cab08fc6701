"""orderlint as a flake8 plugin: ``flake8 --select OL`` reports what
``orderlint check`` reports, at the same line and column.

flake8 hands a plugin the file's lines and prints the column it gets back
plus one, so the plugin yields orderlint's 1-based column minus one. The
rules are those ``orderlint check`` would run on the file: the nearest
``[tool.orderlint]`` configuration (``select``, ``ignore``, ``preview``,
``per-file-ignores``) applies; flake8's own ``--select``/``--ignore`` and
``# noqa`` filter on top. A file that does not parse is flake8's E999, not OL000:
flake8 runs no plugin on it. A configuration orderlint cannot read is
reported as OL000 on line 1 of every file (the files were not checked), not as a traceback.

Registered in pyproject.toml::

    [project.entry-points."flake8.extension"]
    OL = "orderlint.flake8_plugin:Plugin"
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, Sequence, Tuple, Type

from orderlint import __version__

_CONFIGS: Dict[Path, tuple] = {}  # working directory -> (Config, selected rules): read once per process


def _settings(cwd: Path) -> tuple:
    """(Config, rules), or (None, the configuration error's message)."""
    if cwd not in _CONFIGS:
        from orderlint.config import ConfigError, find_pyproject, load_config, select_rules

        try:
            config = load_config(find_pyproject(cwd), cwd)
            _CONFIGS[cwd] = (config, select_rules(config.select, config.extend_select, config.ignore, config.preview))
        except ConfigError as error:
            _CONFIGS[cwd] = (None, str(error))
    return _CONFIGS[cwd]


class Plugin:
    name = "orderlint"
    version = __version__

    def __init__(self, tree: ast.AST, filename: str, lines: Sequence[str]):
        # ``tree`` is unused (orderlint parses with LibCST) but makes this an AST plugin: run once per file.
        self.filename = filename
        self.lines = lines

    def run(self) -> Iterator[Tuple[int, int, str, Type["Plugin"]]]:
        from orderlint import runner

        if self.filename.lower().endswith(".ipynb"):
            return  # flake8 numbers a notebook's JSON lines; orderlint's rows would be within cells
        config, rules = _settings(Path.cwd())
        if config is None:
            yield 1, 0, f"OL000 orderlint configuration error, file not checked: {rules}", type(self)
            return
        source = "".join(self.lines)
        for d in runner.lint_text(source, self.filename, runner.rules_for(self.filename, rules, config), config.settings):
            yield d.row, d.column - 1, f"{d.code} {d.message}", type(self)
