"""An HTTP(S) connection pinned to an address that was already checked.

Connecting by host name would resolve the name a second time, and a DNS answer that changes between the
check and the connect (DNS rebinding) would slip a private address past the check. This connection opens
its socket to the checked address while keeping the host name for the ``Host`` header and for TLS (SNI
and certificate verification), so HTTPS still proves the server is the host the URL named.
"""

from __future__ import annotations

import http.client
import socket
import ssl


class PinnedConnection(http.client.HTTPConnection):
    """``HTTPConnection`` (or HTTPS when ``tls`` is given) that connects to ``address`` only.

    ``http.client`` is used rather than ``requests`` on purpose: it never consults proxy environment
    variables (a proxy would make the address check meaningless) and never follows redirects itself.
    """

    def __init__(self, host: str, port: int, address: str, timeout: float, tls: ssl.SSLContext | None) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address
        self._tls = tls
        self.pinned_socket: socket.socket | None = None
        """The open socket; kept because ``http.client`` hands it to the response and forgets it."""
        # The Host header omits the port only when it is the scheme's default.
        self.default_port = http.client.HTTPS_PORT if tls is not None else http.client.HTTP_PORT

    def connect(self) -> None:
        """Open the socket to the pinned address; wrap it in TLS for the URL's host name."""
        sock = socket.create_connection((self._address, self.port), self.timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.sock = self.pinned_socket = sock
