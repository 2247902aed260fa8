"""What a team shares: accounts and who may see what, signing in, progress over calls, exports.

- ``accounts``: accounts, roles, an admin's changes (audited) and the one place that decides who
  may read or speak.
- ``passwords``: scrypt hashes of passwords and of names typed at sign-in.
- ``signin``: the sign-in check, with its throttle of failed attempts and its audit.
- ``progress``: a rep's scores call by call, the weakest dimension, a manager's team table.
- ``delivery``: how a rep's spoken replies sounded call by call (pace, fillers, talk share,
  monologues), and each team member's lately.
- ``exports``: a call as Markdown or JSON, scores as CSV.
"""

from roleplay.team.accounts import AccountError, Accounts, AuditAction, AuditEntry, User, UserRole, Viewer
from roleplay.team.delivery import MemberDelivery, VoiceCall, delivery_facts, team_delivery, voice_calls
from roleplay.team.progress import RepProgress, TeamRow, rep_progress, team_table
from roleplay.team.signin import Limits, SignIn, SignInGate

__all__ = ["AccountError", "Accounts", "AuditAction", "AuditEntry", "Limits", "MemberDelivery", "RepProgress", "SignIn",
           "SignInGate", "TeamRow", "User", "UserRole", "Viewer", "VoiceCall", "delivery_facts", "rep_progress",
           "team_delivery", "team_table", "voice_calls"]
