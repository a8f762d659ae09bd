"""A local OpenAI-compatible API on the engine: chat completions, responses, models.

Layers: ``runner.ApiServer`` (uvicorn on a thread) serves ``app.create_app``: the ``guard`` (host, origin,
key, body size) in front of the endpoints (``chat``, ``responses``), which turn requests into ``jobs`` for
the one engine thread (``engine_thread`` standalone, or the app's), and constrain output with
``constraint`` (JSON grammar ``json_grammar``/``json_schema`` masked over the vocabulary by ``token_mask``).
``command`` is ``python -m engine serve``; ``keys`` keeps the API key. docs/local-api.md is the user's page.
"""
