"""What a team shares: accounts and who may see what, progress over calls, exports.

- ``accounts``: accounts, roles and the one place that decides who may read or speak.
- ``progress``: a rep's scores call by call, the weakest dimension, a manager's team table.
- ``exports``: a call as Markdown or JSON, scores as CSV.
"""

from roleplay.team.accounts import AccountError, Accounts, User, UserRole, Viewer
from roleplay.team.progress import RepProgress, TeamRow, rep_progress, team_table

__all__ = ["AccountError", "Accounts", "RepProgress", "TeamRow", "User", "UserRole", "Viewer", "rep_progress",
           "team_table"]
