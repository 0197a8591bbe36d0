"""The playground: TensorFlow Playground's live view of what a network learns, served by
``microflow playground`` and trained by a real microflow graph.

``create_app()`` is the Starlette app (the page, its static files and the ``/ws`` WebSocket);
``serve(host, port, open_browser)`` runs it with uvicorn. The wire protocol between the page
and the server is described in ``server``'s docstring.
"""

from microflow.apps.playground.server import create_app, serve

__all__ = ["create_app", "serve"]


def __dir__():
    return __all__
