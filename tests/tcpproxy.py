"""A loopback TCP proxy that can cut a connection, for faults a real server
does not produce on demand (a link dropped mid-transfer, a stalled peer).

Forwards bytes both ways between a client and ``target``; once ``cut_after``
bytes have gone from the server to the client, it resets both sides (RST, as a
broken link or a firewall would), or, with ``stall=True``, stops forwarding and
leaves the connection open and silent.
"""

from __future__ import annotations

import select
import socket
import struct
import threading


class TcpProxy:
    def __init__(self, target_port: int, cut_after: int | None = None, stall: bool = False):
        self.target_port = target_port
        self.cut_after = cut_after
        self.stall = stall
        self.cuts = 0
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except (socket.timeout, OSError):
                continue
            server = socket.create_connection(("127.0.0.1", self.target_port))
            thread = threading.Thread(target=self._pipe, args=(client, server), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _pipe(self, client: socket.socket, server: socket.socket) -> None:
        sent = 0
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([client, server], [], [], 0.2)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is server:
                        if self.cut_after is not None and sent + len(data) > self.cut_after:
                            client.sendall(data[: max(0, self.cut_after - sent)])
                            self.cuts += 1
                            self.cut_after = None  # later connections go through
                            if self.stall:
                                self._stop.wait()  # silent from now on
                            return
                        sent += len(data)
                        client.sendall(data)
                    else:
                        server.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (client, server):
                try:
                    # RST rather than FIN: the peer sees a reset link
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    sock.close()
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(timeout=2)
        for thread in self._threads:
            thread.join(timeout=2)
