"""The Practice tab's Past sessions: pick a call to open (``ui.app``'s review, with its game film)
or to delete for good, after a confirmation, with everything of it (``Gym.delete``).

Only the rep whose call it is may delete it; a manager who can read it cannot.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from roleplay.call import Gym
from roleplay.team import Viewer


def past_choices(gym: Gym, who: Viewer) -> list[tuple[str, str]]:
    """The sessions ``who`` may open: their own; a manager's team's too, labelled by rep."""
    rows = gym.store.list_sessions(limit=50, owners=gym.accounts.visible_owners(who))
    return [
        (f"{r['created_at']:%Y-%m-%d %H:%M} · {r['persona_id']}"
         + (f" · {r['owner']}" if who.is_manager else "")
         + (f" · {'hung up' if r['ended_by'] == 'prospect' else 'ended'}" if r["ended_by"] else " · open"),
         r["id"])
        for r in rows
    ]


class PastSessions:
    """The Past sessions accordion, made in the current Blocks context: the session picker, Open,
    and Delete with its confirmation (hidden until asked)."""

    def __init__(self) -> None:
        with gr.Accordion("Past sessions", open=False):
            # Choices go stale per tab; any id is accepted and checked by each handler.
            self.past = gr.Dropdown(choices=[], label="Session", elem_id="past", allow_custom_value=True)
            with gr.Row():
                self.open_btn = gr.Button("Open", elem_id="open")
                self.delete_btn = gr.Button("Delete", variant="stop", elem_id="delete")
            with gr.Column(visible=False, elem_id="delete-confirm") as self.confirm:
                self.question = gr.Markdown("", elem_id="delete-question")
                with gr.Row():
                    self.yes_btn = gr.Button("Yes, delete it for good", variant="stop", size="sm", elem_id="delete-yes")
                    self.no_btn = gr.Button("Cancel", size="sm", elem_id="delete-no")

    def wire(self, gym: Gym, viewer: Callable[[gr.Request | None], Viewer], session: Any, view: list[Any],
             cleared: Callable[[], dict]) -> None:
        """Register Delete and its confirmation.

        Args:
            gym: The app's gym.
            viewer: Who is asking (``ui.app``'s rule).
            session: The session open in the Practice view.
            view: The call view's components (the delete endpoint returns them).
            cleared: The call view emptied, for when the call open is the one deleted.
        """
        def owned(who: Viewer, session_id: str | None) -> None:
            exists, owner = gym.store.session_owner(session_id or "")
            if not exists or not gym.accounts.can_read(who, owner):
                raise gr.Error("There is no such session.")
            if not gym.accounts.can_write(who, owner):
                raise gr.Error("Only the rep whose call it is can delete it.")

        def ask(session_id: str | None, request: gr.Request) -> dict:
            """Delete, first press: which call, what goes with it; nothing is deleted yet."""
            if not session_id:
                raise gr.Error("Pick a past session first.")
            who = viewer(request)
            owned(who, session_id)
            label = next((label for label, value in past_choices(gym, who) if value == session_id), session_id)
            return {self.confirm: gr.update(visible=True), self.question: (
                f"Delete **{label}** for good? Its transcript, scores, report, delivery and any recorded audio "
                "go with it. This cannot be undone.")}

        def delete(session_id: str | None, open_id: str | None, request: gr.Request) -> dict:
            """Delete, confirmed: the call and everything of it; the view empties if it was open."""
            if not session_id:
                raise gr.Error("Pick a past session first.")
            who = viewer(request)
            owned(who, session_id)
            gym.delete(session_id, actor=who.username)
            gr.Info("The session was deleted, with its audio.")
            shown = cleared() if open_id == session_id else {}
            return {**shown, self.past: gr.update(choices=past_choices(gym, who), value=None),
                    self.confirm: gr.update(visible=False), self.question: ""}

        self.delete_btn.click(ask, self.past, [self.confirm, self.question], api_name="ask_delete")
        self.yes_btn.click(delete, [self.past, session], [*view, self.confirm, self.question],
                           api_name="delete_session")
        self.no_btn.click(lambda: gr.update(visible=False), None, self.confirm, api_name=False)
