"""paperchat's browser UI: a Gradio chat over the engine (``ui.app.serve``, started by ``rag serve``)."""
