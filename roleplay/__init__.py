"""A practice gym for sales pushback: an AI prospect, a grader and a coach."""

from pathlib import Path

__version__ = "0.1.0"

#: The project root when running from a checkout (personas/, prompts/ live here).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
