#!/usr/bin/python3
"""The Linux side of the benchmark: discard and echo servers on the kernel's
TCP (run in their own namespace), one connection at a time, like ustackd's
built-in services."""
import socket
import sys
import threading


def serve(port, echo):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(16)
    while True:
        c, _ = ls.accept()
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            b = c.recv(1 << 16)
            if not b:
                break
            if echo:
                c.sendall(b)
        c.close()


threading.Thread(target=serve, args=(int(sys.argv[1]), False), daemon=True).start()
serve(int(sys.argv[2]), True)
