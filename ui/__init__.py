"""paperchat's browser UI: a Gradio chat over the engine (``ui.app.serve``, started by ``rag serve``).

Every library is switched offline (no Gradio analytics, no hub calls) here, before any ``ui`` module
imports gradio: gradio reads those switches when it is first imported.
"""

from rag import offline

offline.apply()
