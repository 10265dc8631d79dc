"""``wstag serve``: a web page to try a model: pick or upload a recording, type phrases,
see and hear where they occur, and (with an index) search a whole collection.

``create_app(grounder, corpus=..., index=...)`` builds the FastAPI app; the CLI runs it
with uvicorn on the loopback address by default.
"""

from wstag.serve.app import create_app

__all__ = ["create_app"]
