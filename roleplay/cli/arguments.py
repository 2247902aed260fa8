"""What the command line's parsers share: the help formatter, command groups, and the options
many commands take (``--backend``, ``--model``, ``--json``)."""

from __future__ import annotations

import argparse
import textwrap

from roleplay.config import Backend

GOLDEN = "golden JSONL file, one case a line (docs/spec/golden-format.md)"
JSON = "print one JSON object on stdout (docs/spec/cli.md) instead of a table"
ROLES = ["rep", "manager", "enablement"]
ROLE_HELP = ("rep: practises; manager: also sees their team's sessions; enablement: writes and publishes personas "
              "in the studio")


class Help(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples' line breaks and shows an option's default where it has a real one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        shown = action.default is not None and action.default is not False and action.default != argparse.SUPPRESS
        if shown and "default" not in text and action.option_strings:
            text += " (default: %(default)s)"
        return text


class Commands:
    """Adds subcommands that each say what they do, with examples, in one house style."""

    def __init__(self, parent: argparse.ArgumentParser, dest: str, required: bool = False):
        self._sub = parent.add_subparsers(dest=dest, required=required, metavar="COMMAND")

    def add(self, name: str, summary: str, examples: str = "", more: str = "") -> argparse.ArgumentParser:
        description = textwrap.fill(summary[:1].upper() + summary[1:] + ".", 100)
        if more:
            description += "\n\n" + textwrap.fill(more, 100)
        epilog = "examples:\n" + "\n".join(f"  {line}" for line in examples.strip().splitlines()) if examples else None
        return self._sub.add_parser(name, help=summary, description=description, epilog=epilog, formatter_class=Help)


def validated(top: Commands, name: str, summary: str, check: str, example: str, func) -> Commands:
    """A command group for a kind of file people write, with its ``validate`` subcommand."""
    group = Commands(top.add(name, summary, f"roleplay {name} validate"), f"{name}_command", required=True)
    validate = group.add("validate", check, f"roleplay {name} validate\nroleplay {name} validate {example}")
    if name == "personas":  # a folder of files
        validate.add_argument("paths", nargs="*", help="files or directories (default: the settings' personas_dir, "
                                                       "the shipped personas unless set)")
    else:
        validate.add_argument("path", nargs="?", help=f"the file (default: {example.rsplit('/', 1)[-1]} in the "
                                                      "settings' prompts_dir, the shipped prompts unless set)")
    validate.set_defaults(func=func)
    return group


def backend_option(p: argparse.ArgumentParser, what: str = "the backend of every role") -> None:
    p.add_argument("--backend", choices=[b.value for b in Backend],
                   help=f"{what}: local (embedded model), openai (OPENAI_BASE_URL), fake (tests) "
                        "(default: the settings, local unless configured)")


def model_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="the model of every role for this run: a model name on openai, a GGUF path on "
                                   "local (default: the settings)")


def json_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help=JSON)
