"""interfaces/tls_server.start_in_thread: a server that cannot listen is a clear error at once,
never a silently dead thread (the demo prints one-time links only after its UI is listening)."""

from __future__ import annotations

import socket

import pytest
import uvicorn

from juki.interfaces.tls_server import start_in_thread, stop_server


async def _app(scope: object, receive: object, send: object) -> None:  # never called
    raise AssertionError("no request expected")


# uvicorn ends its thread with SystemExit(3) when it cannot bind: that is the case under test.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_port_in_use_raises_instead_of_a_dead_thread() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(_app, host="127.0.0.1", port=port, log_level="critical"))
        with pytest.raises(RuntimeError, match=f"127.0.0.1:{port} did not start"):
            start_in_thread(server, timeout=5)


def test_a_free_port_is_listening_when_it_returns() -> None:
    server = uvicorn.Server(uvicorn.Config(_app, host="127.0.0.1", port=0, log_level="critical"))
    thread, port = start_in_thread(server, timeout=5)
    try:
        assert thread.is_alive() and port > 0
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    finally:
        stop_server(server, thread)
    assert not thread.is_alive()
