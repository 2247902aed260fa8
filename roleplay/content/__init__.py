"""What enablement teams edit, shipped inside the package so an installed ``roleplay`` has it.

- ``personas/``: the persona files (``*.yaml``), their JSON Schema and how to write one (``README.md``);
- ``prompts/``: the prompt templates, the rubric, the coaching library (``coaching.yaml``), the drills
  (``drills.yaml``) and the prospect's fallback lines;
- ``rep_scripts/``: the scripted reps the persona studio and the evals play (``{"rep": [lines…]}``).

These are the defaults of the settings ``personas_dir``, ``prompts_dir`` and ``rep_scripts_dir``; a
team points them at folders of its own (``ROLEPLAY_PERSONAS_DIR`` and so on, or ``roleplay.toml``).
"""

from pathlib import Path

_HERE = Path(__file__).resolve().parent

PERSONAS_DIR = _HERE / "personas"
PROMPTS_DIR = _HERE / "prompts"
REP_SCRIPTS_DIR = _HERE / "rep_scripts"
