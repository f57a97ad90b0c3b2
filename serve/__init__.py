"""The arena's HTTP API: :func:`serve.api.create_app` (plain FastAPI) and
:mod:`serve.deployment` (the same app as a Ray Serve deployment, ``arena serve``)."""

__all__: list[str] = []
