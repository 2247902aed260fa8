"""The browser app (Gradio): the call, the score cards, the report, Progress and the studio.

- ``app``: ``build_app`` and ``serve``, the tabs and their handlers.
- ``views``: HTML and Markdown for briefs, chats and grade cards (every user text escaped).
- ``dashboard``: the Progress tab, past sessions and exports.
- ``studio``: the persona studio, its version store and its tab.
"""
