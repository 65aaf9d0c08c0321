"""Every command and experiment file shown in README.md and docs/ parses.

- A ``curriclip ...`` command in a fenced shell block must name an existing (sub)command whose
  ``--help`` works, and its arguments must parse with that command's own parser (option names,
  values, types and ranges; nothing runs). Names it gives a registry (``curriclip list KIND``,
  ``--preset NAME``) must be registered.
- A ``curriclip ...`` command in inline code (prose and the commands table, where placeholders
  such as ``RUN_DIR`` or ``[--seeds K]`` stand for values) must name an existing command, and
  every ``--option`` it shows must be one of that command's options.
- Every fenced ``yaml`` block must validate as an experiment file against the contract
  (``curriclip.config.parse_experiment``).

The app is walked in-process (``typer.testing.CliRunner``, click's parser); no subprocess starts.
"""

from __future__ import annotations

import functools
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from curriclip.cli import app
from curriclip.config import parse_experiment
from curriclip.errors import CurriclipError

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^[ \t]*```(\w*)[^\n]*\n(.*?)^[ \t]*```[ \t]*$", re.S | re.M)
SHELL = {"bash", "sh", "shell", "console", ""}
INLINE = re.compile(r"`(curriclip [^`]+)`")
OPERATORS = {"&&", "||", ";", "|"}


def _where(path: Path, text: str, offset: int) -> str:
    return f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, offset) + 1}"


def collect() -> tuple[list, list, list]:
    """(where, argv) of fenced commands, (where, text) of inline commands, (where, body) of YAML blocks."""
    fenced, inline, yamls = [], [], []
    for path in PAGES:
        text = path.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            lang, body = m.group(1).lower(), m.group(2)
            where = _where(path, text, m.start(2))
            if lang in ("yaml", "yml"):
                yamls.append((where, body))
            elif lang in SHELL:
                first = text.count("\n", 0, m.start(2)) + 1
                for number, line in shell_lines(body, first):
                    fenced.extend((f"{path.relative_to(ROOT)}:{number}", argv) for argv in curriclip_argvs(line))
        prose = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)  # keep line numbers
        for m in INLINE.finditer(prose):
            inline.append((_where(path, prose, m.start()), m.group(1).replace("\\|", "|")))
    return fenced, inline, yamls


def shell_lines(body: str, first: int):
    """(line number, line) of a shell block, a line continued with a backslash joined to the next."""
    start, parts = None, []
    for number, line in enumerate(body.splitlines(), first):
        start = number if start is None else start
        parts.append(line.removesuffix("\\"))
        if not line.endswith("\\"):
            yield start, " ".join(parts)
            start, parts = None, []


def curriclip_argvs(line: str) -> list[list[str]]:
    """The arguments of every ``curriclip`` invocation on a shell line (after ``--``, ``&&``, ...)."""
    tokens = shlex.split(line, comments=True)
    out = []
    for i, tok in enumerate(tokens):
        if tok == "curriclip" or tok.endswith("/curriclip"):
            argv = []
            for t in tokens[i + 1 :]:
                if t in OPERATORS:
                    break
                argv.append(t)
            out.append(argv)
    return out


FENCED, INLINE_COMMANDS, YAML_BLOCKS = collect()
ROOT_COMMAND = typer.main.get_command(app)


def resolve(argv: list[str], where: str) -> tuple[list[str], Any, list[str]]:
    """Walk the command tree (groups have ``commands``): (command path, the command, its remaining arguments)."""
    cmd, path, rest = ROOT_COMMAND, [], list(argv)
    while getattr(cmd, "commands", None) is not None and rest and not rest[0].startswith(("-", "[")):
        sub = cmd.commands.get(rest[0])
        if sub is None:
            known = ", ".join(sorted(cmd.commands))
            raise AssertionError(f"{where}: `curriclip {' '.join(path + [rest[0]])}`: no such command (known: {known})")
        cmd, path, rest = sub, [*path, rest.pop(0)], rest
    return path, cmd, rest


@functools.cache
def help_works(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output, f"curriclip {' '.join(path)} --help:\n{result.output}"


def option_names(cmd) -> set[str]:
    return {"--help"} | {o for p in cmd.params for o in (*p.opts, *p.secondary_opts) if o.startswith("-")}


def check_registry_names(path: list[str], params: dict, where: str) -> None:
    from curriclip.presets import EXPERIMENTS
    from curriclip.registry import all_registries

    kinds, presets = list(all_registries()), EXPERIMENTS.names()
    if path == ["list"] and params.get("kind") and params["kind"] not in kinds:
        raise AssertionError(f"{where}: curriclip list: unknown kind {params['kind']!r} (known: {kinds})")
    if path == ["search"] and params["preset"] not in presets:
        raise AssertionError(f"{where}: --preset: unknown preset {params['preset']!r} (known: {presets})")


def test_the_docs_show_commands_and_experiment_files():
    """The collection itself finds what the pages show (a broken pattern would make every test vacuous)."""
    assert len(FENCED) >= 20 and len(INLINE_COMMANDS) >= 20 and len(YAML_BLOCKS) >= 4
    readme = [argv for where, argv in FENCED if where.startswith("README.md")]
    assert {argv[0] for argv in readme} >= {"search", "report", "resume", "confirm", "list"}


@pytest.mark.parametrize("where,argv", FENCED, ids=[w for w, _ in FENCED])
def test_fenced_command_parses(where, argv):
    path, cmd, rest = resolve(argv, where)
    assert path, f"{where}: `curriclip` without a command"
    help_works(tuple(path))
    try:
        ctx = cmd.make_context(f"curriclip {' '.join(path)}", list(rest))
    except Exception as exc:  # click's UsageError and its kinds (Typer vendors click)
        message = exc.format_message() if hasattr(exc, "format_message") else repr(exc)
        raise AssertionError(f"{where}: `curriclip {' '.join(argv)}`: {message}") from None
    with ctx:
        check_registry_names(path, ctx.params, where)


@pytest.mark.parametrize("where,text", INLINE_COMMANDS, ids=[w for w, _ in INLINE_COMMANDS])
def test_inline_command_exists(where, text):
    words = text.split()[1:]
    path, cmd, rest = resolve(words, where)
    assert path or not words, f"{where}: `{text}`"
    help_works(tuple(path))
    if path == ["list"] and rest and re.fullmatch(r"[a-z_]+", rest[0]):  # a kind, not a placeholder such as KIND
        check_registry_names(path, {"kind": rest[0]}, where)
    shown = {o for w in rest for o in re.findall(r"--[A-Za-z0-9][\w-]*", w)}
    unknown = shown - option_names(cmd)
    assert not unknown, f"{where}: `{text}`: no option {sorted(unknown)} (has {sorted(option_names(cmd))})"


@pytest.mark.parametrize("where,body", YAML_BLOCKS, ids=[w for w, _ in YAML_BLOCKS])
def test_yaml_block_is_a_valid_experiment(where, body):
    try:
        parse_experiment(yaml.safe_load(body), source=where)
    except CurriclipError as exc:
        raise AssertionError(str(exc)) from None
