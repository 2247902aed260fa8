"""The command line explains itself: every command says what it does and shows an example,
every option has help, and the help points only at files in the repository."""

import argparse
import re

from roleplay.cli.parser import build_parser

from .conftest import PROJECT_ROOT


def _commands(parser: argparse.ArgumentParser, path: str = "roleplay"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, f"{path} {name}")


COMMANDS = list(_commands(build_parser()))


def test_every_command_has_a_description_and_an_example():
    for path, parser in COMMANDS:
        assert parser.description, f"{path}: no description"
        assert parser.epilog and "examples:" in parser.epilog, f"{path}: no example"
        examples = parser.epilog.split("examples:", 1)[1]
        assert "roleplay" in examples, f"{path}: the example does not show the command"


def test_every_option_and_argument_has_help():
    for path, parser in COMMANDS:
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction | argparse._VersionAction | argparse._SubParsersAction):
                continue
            assert action.help, f"{path} {action.option_strings or action.dest}: no help"


def test_defaults_are_shown_and_files_named_in_help_exist():
    serve = dict(COMMANDS)["roleplay serve"].format_help()
    assert "(default: 7860)" in serve
    for path, parser in COMMANDS:
        for name in re.findall(r"\b(?:roleplay/content/)?(?:docs|prompts|personas|rep_scripts|evals)/[\w./-]+"
                               r"\.(?:md|yaml|jsonl|json)\b",
                               parser.format_help().replace("-\n", "-").replace("\n", " ")):
            assert (PROJECT_ROOT / name).exists() or "*" in name, f"{path}: its help names {name}, not in the repo"
