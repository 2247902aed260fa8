"""The browser app (Gradio): the call, the score cards, the report, Progress and the studio.

- ``app``: ``build_app`` and ``serve``, the tabs and their handlers.
- ``screen``: what the Practice tab shows of a call: chat, score cards, status (a drill's verdict).
- ``views``: HTML and Markdown for briefs, chats and grade cards (every user text escaped).
- ``dashboard``: the Progress tab with the practice plan, past sessions and exports.
- ``studio``: the persona studio, its version store and its tab.
"""
