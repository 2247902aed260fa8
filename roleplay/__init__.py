"""A practice gym for sales pushback: an AI prospect, a grader and a coach."""

__version__ = "0.1.0"
