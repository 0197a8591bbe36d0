"""The playground: TensorFlow Playground's live view of what a network learns, served by
``microflow playground`` and trained by a real microflow graph.

``create_app()`` is the Starlette app (the page, its static files and the ``/ws`` WebSocket);
``serve(host, port, open_browser)`` runs it with uvicorn. ``session`` holds the model and its
training, ``datasets`` the data, ``export`` the downloads, ``server`` the wire protocol.
"""

__all__ = ["create_app", "serve"]


def __getattr__(name):
    # The web server (Starlette) is imported only when asked for, so that the command line
    # and the session logic do not pay for it.
    if name in __all__:
        from microflow.apps.playground import server
        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return __all__
