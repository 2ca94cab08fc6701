"""The command line: ``orderlint check | show | rules | rule``."""

from __future__ import annotations

import io
import sys
import textwrap
from pathlib import Path
from typing import List, Sequence, Tuple

import click
import libcst as cst

from orderlint import __version__, report, runner
from orderlint.cache import CACHE_DIR, Cache
from orderlint.config import Config, ConfigError, find_pyproject, load_config, select_rules, validate_selectors
from orderlint.engine import deeply, parse
from orderlint.files import SourceError, decode, discover
from orderlint.rules import ALL_RULES, RULES_BY_CODE
from orderlint.rules.base import Rule
from orderlint.fixes import unified_diff as fixes_diff
from orderlint.runner import Result


def _fail(message: str) -> None:
    click.echo(f"orderlint: error: {message}", err=True)
    sys.exit(2)


def _codes(values: Tuple[str, ...]) -> List[str]:
    """``--select OL1,OL2 --select OL3`` -> ["OL1", "OL2", "OL3"]."""
    return [code.strip() for value in values for code in value.split(",") if code.strip()]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="orderlint")
def cli() -> None:
    """orderlint: finds the order bugs of PyTorch training code."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--select", multiple=True, help="Rule codes or prefixes to enable (replaces the configured set); ALL for all.")
@click.option("--extend-select", multiple=True, help="Rule codes or prefixes to enable on top of the configured set.")
@click.option("--ignore", multiple=True, help="Rule codes or prefixes to disable.")
@click.option("--preview/--no-preview", default=None, help="Enable preview rules.")
@click.option("--output-format", type=click.Choice(list(report.FORMATS)), default=report.DEFAULT_FORMAT, show_default=True)
@click.option("--output-file", type=click.Path(path_type=Path, dir_okay=False), help="Write the report to this file instead of standard output.")
@click.option("--exit-zero", is_flag=True, help="Exit with 0 even when problems are found.")
@click.option("--statistics", is_flag=True, help="Count problems per rule instead of listing them.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="The pyproject.toml to read.")
@click.option("--isolated", is_flag=True, help="Ignore every configuration file.")
@click.option("--stdin-filename", help="With '-': the path the text on standard input stands for.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Worker processes (default: every core).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the results cache (.orderlint_cache/).")
@click.option("--shard", "shard_spec", metavar="I/N", help="Check only the I-th of N parts of the files (for CI matrices).")
@click.option("--fix/--no-fix", default=False, help="Apply the safe fixes.")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply (with --fix) or offer the fixes that change behaviour on purpose.")
@click.option("--diff", "show_diff", is_flag=True, help="Print the fixes as a unified diff instead of writing them; exit 1 if any.")
@click.option("--show-fixes", is_flag=True, help="List the files fixed and how many fixes each got.")
def check(paths, select, extend_select, ignore, preview, output_format, output_file, exit_zero, statistics, config_path,
          isolated, stdin_filename, jobs, no_cache, shard_spec, fix, unsafe_fixes, show_diff, show_fixes) -> None:
    """Lint PATHS (default: the current directory)."""
    cwd = Path.cwd()
    try:
        if isolated:
            config = Config(root=cwd)
        else:
            if config_path is not None and not config_path.is_file():
                raise ConfigError(f"{config_path}: no such configuration file")
            config = load_config(config_path or find_pyproject(cwd), cwd)
        for name, values in (("--select", select), ("--extend-select", extend_select), ("--ignore", ignore)):
            validate_selectors(_codes(values), name)
        rules = select_rules(
            _codes(select) if select else config.select,
            config.extend_select + _codes(extend_select),
            config.ignore + _codes(ignore),
            config.preview if preview is None else preview,
        )
    except ConfigError as error:
        _fail(str(error))

    fix_mode = ("unsafe" if unsafe_fixes else "safe") if (fix or show_diff) else None
    if list(paths) == [Path("-")]:
        shown, text = stdin_filename or "-", sys.stdin.read()
        file_rules = runner.rules_for(shown, rules, config)
        if fix_mode is not None:
            _fix_stdin(text, shown, file_rules, config, fix_mode, show_diff)
        result = Result(runner.lint_text(text, shown, file_rules, config.settings))
        context = report.Context(report.Sources({shown: text}), [shown])
    else:
        for path in paths or (Path("."),):
            if not path.exists() and not path.is_symlink():
                _fail(f"{path}: no such file or directory")
        exclude = list(config.exclude if config.exclude is not None else ()) + config.extend_exclude
        files = list(discover(list(paths or (Path("."),)), config.root, exclude, config.respect_gitignore))
        if shard_spec:
            try:
                files = runner.shard(files, shard_spec)
            except ValueError as error:
                _fail(str(error))
        cache = None if no_cache else Cache(config.root, sorted(r.code for r in rules) + [repr(config.settings)])
        result = runner.check_files(files, rules, config, jobs or runner.default_jobs(), cache, fix_mode, show_diff)
        context = report.Context(files=[str(path) for path in files], fixed=0 if show_diff else result.fixed)
        if show_diff:
            _print_diffs(result)
    context.unsafe_fixes = unsafe_fixes
    for note in result.notes:
        click.echo(f"orderlint: warning: {note}", err=True)
    if show_fixes and result.fixed_files:
        click.echo(f"Fixed {result.fixed} problem{'s' if result.fixed != 1 else ''}:")
        for path, count in result.fixed_files:
            click.echo(f"- {report.display_path(path)}: {count}")

    try:
        with report.output(output_file) as out:
            if statistics:
                report.statistics(result.diagnostics, out)
            else:
                report.FORMATS[output_format](result.diagnostics, out, context)
    except OSError as error:
        if output_file is None:
            raise
        _fail(f"{output_file}: cannot write: {error.strerror or error}")
    for error in result.errors:
        click.echo(f"orderlint: error: {error}", err=True)
    if result.errors or result.internal_errors:
        sys.exit(2)
    sys.exit(1 if result.diagnostics and not exit_zero else 0)


def _print_diffs(result: Result) -> None:
    """``--diff``: the unified diffs, then what would be fixed; exit 1 when anything would change."""
    for diff in result.diffs:
        sys.stdout.write(diff)
    would = sum(count for _, count in result.fixed_files)
    click.echo(f"Would fix {would} problem{'s' if would != 1 else ''}." if would else "No fixes available.")
    sys.exit(1 if result.diffs else 0)


def _fix_stdin(text: str, path: str, rules: Sequence[Rule], config: Config, fix_mode: str, show_diff: bool) -> None:
    """``-`` with --fix: the fixed source on stdout and the remaining problems on stderr, as ruff does."""
    outcome = runner.fix_source(text, path, rules, config.settings, fix_mode == "unsafe")
    if show_diff:
        sys.stdout.write(fixes_diff(path, text, outcome.text))
        sys.exit(1 if outcome.text != text else 0)
    sys.stdout.write(outcome.text)
    for d in outcome.remaining:
        click.echo(f"{d.path}:{d.row}:{d.column}: {d.code} {d.message}", err=True)
    sys.exit(1 if outcome.remaining else 0)


@cli.command()
@click.argument("target")
def show(target: str) -> None:
    """Print what flows through each pipeline of FILE (or the one at FILE:LINE)."""
    from orderlint.show import show as show_pipelines

    path, line = target, None
    head, sep, tail = target.rpartition(":")
    if sep and tail.isdigit():
        path, line = head, int(tail)
    def render() -> Tuple[bool, str]:
        out = io.StringIO()
        return show_pipelines(parse(source), path, line, out), out.getvalue()

    try:
        source = decode(Path(path).read_bytes())
        found, text = deeply(render)  # deeply nested code: again on a deep stack, as `check` does
    except OSError as error:
        _fail(f"{path}: cannot read: {error.strerror}")
    except SourceError as error:
        _fail(f"{path}: {error}")
    except cst.ParserSyntaxError as error:
        _fail(f"{path}:{error.raw_line}:{error.raw_column + 1}: could not parse: {error.message}")
    except RecursionError:
        _fail(f"{path}: could not analyse: the code is nested too deeply")
    sys.stdout.write(text)
    if not found:
        where = f" at line {line}" if line is not None else ""
        click.echo(f"{path}: no transform pipeline found{where}")


def rules_reference() -> str:
    """docs/rules.md: every rule's documentation, generated from the rules themselves."""
    parts = ["<!-- Generated by `orderlint rules --markdown > docs/rules.md`; do not edit by hand. -->",
             "# orderlint rules", ""]
    parts += ["| code | name | kind | default | fix |", "|---|---|---|---|---|"]
    parts += [f"| [{r.code}](#{r.code.lower()}-{r.name}) | {r.name} | {r.kind} | {r.default} | {r.fix} |" for r in ALL_RULES]
    parts.append("")
    parts += [rule_doc(rule).replace(f"# {rule.code} {rule.name}", f"## {rule.code} {rule.name}", 1)
              .replace("\n## ", "\n### ") for rule in ALL_RULES]
    return "\n".join(parts)


@cli.command(name="rules")
@click.option("--markdown", is_flag=True, help="Print the rules reference (docs/rules.md) instead of a table.")
def list_rules(markdown: bool) -> None:
    """List every rule: code, name, kind, default, fix."""
    if markdown:
        click.echo(rules_reference(), nl=False)
        return
    header = ("code", "name", "kind", "default", "fix")
    rows = [header] + [(r.code, r.name, r.kind, r.default, r.fix) for r in ALL_RULES]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def rule_doc(rule: Rule) -> str:
    """A rule's documentation, as ``orderlint rule`` prints it and docs/rules.md holds it."""
    return "\n".join([
        f"# {rule.code} {rule.name}", "",
        f"kind: {rule.kind} | default: {rule.default} | fix: {rule.fix}", "",
        "## What it does", rule.summary, "",
        "## Why is this bad?", rule.why, "",
        "## Example", "```python", textwrap.dedent(rule.example).strip(), "```", "",
        "## Use instead", "```python", textwrap.dedent(rule.use_instead).strip(), "```", "",
    ])


@cli.command(name="rule")
@click.argument("code")
def explain_rule(code: str) -> None:
    """Explain one rule: what it detects, why it is bad, an example, what to use instead."""
    rule = RULES_BY_CODE.get(code.upper())
    if rule is None:
        try:
            validate_selectors([code], "rule")
        except ConfigError as error:
            _fail(str(error))
        _fail(f"`{code}` is a prefix, not a rule code; `orderlint rules` lists them")
    click.echo(rule_doc(rule).rstrip())


@cli.command()
def clean() -> None:
    """Remove the results cache (.orderlint_cache/) of the current project."""
    import shutil

    config_file = find_pyproject(Path.cwd())
    root = config_file.parent if config_file else Path.cwd()
    shutil.rmtree(root / CACHE_DIR, ignore_errors=True)


@cli.command()
@click.option("--stdio", is_flag=True, hidden=True, help="Accepted for clients that pass it; stdio is the only transport.")
def server(stdio: bool) -> None:
    """Run the language server (LSP over standard input/output); needs the `lsp` extra."""
    import importlib

    try:
        language_server = importlib.import_module("orderlint.server")
    except ImportError as error:
        if (error.name or "").partition(".")[0] not in ("pygls", "lsprotocol", "cattrs", "attrs"):
            raise
        missing = error.name.partition(".")[0]
        _fail(f"the language server needs pygls (`{missing}` is missing): pip install 'orderlint[lsp]'")
    language_server.start()


def main() -> None:
    cli(prog_name="orderlint")
