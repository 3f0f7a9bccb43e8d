"""A tiny real SMTP server on a free local port (a thread, plain sockets), standing in for the
mail server a host talks to. ``hang_after_data`` makes it swallow the message and never send
the final reply: the case where the client cannot know whether the mail was delivered."""
import socket
import threading


class SmtpServer:
    def __init__(self, *, hang_after_data: bool = False):
        self.hang_after_data = hang_after_data
        self.messages: list[bytes] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        self._sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    self._session(conn.makefile("rb"), conn)
                except OSError:
                    pass

    def _session(self, reader, conn) -> None:
        conn.sendall(b"220 test ESMTP\r\n")
        while True:
            line = reader.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                conn.sendall(b"250 test\r\n")
            elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                conn.sendall(b"250 ok\r\n")
            elif verb == b"DATA":
                conn.sendall(b"354 go ahead\r\n")
                data = b""
                while (chunk := reader.readline()) not in (b".\r\n", b""):
                    data += chunk
                self.messages.append(data)
                if self.hang_after_data:
                    self._stop.wait(10)  # the reply never comes
                    return
                conn.sendall(b"250 queued\r\n")
            elif verb == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                conn.sendall(b"502 no\r\n")
