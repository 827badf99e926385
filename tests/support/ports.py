"""Free ports on 127.0.0.1: servers and rendezvous in tests and benchmarks bind only there."""

import socket


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
