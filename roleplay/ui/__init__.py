"""The browser app (Gradio): the call, the score cards, the report, Progress and the studio.

- ``app``: ``build_app``, the tabs and their handlers; ``serving``: ``serve`` and the launch
  options (team mode's sign-in).
- ``screen``: what the Practice tab shows of a call: chat, score cards (with the delivery of
  spoken replies), status (a drill's verdict).
- ``voice_panel``: the voice mode (the Text/Voice switch, the microphone, the prospect's voice);
  ``spoken``: the work around a spoken turn (models loaded on first use, the answer streamed,
  the delivery kept).
- ``views``: HTML and Markdown for briefs, chats and grade cards (every user text escaped).
- ``dashboard``: the Progress tab with the practice plan, past sessions and exports.
- ``studio``: the persona studio, its version store and its tab.
"""
