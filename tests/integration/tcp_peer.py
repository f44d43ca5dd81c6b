#!/usr/bin/python3
"""Kernel-side TCP peer for the integration tests (runs inside the netns).

  tcp_peer.py echo HOST PORT NBYTES      send NBYTES random bytes, read the echo,
                                         compare SHA-256 both ways
  tcp_peer.py chargen HOST PORT NBYTES   read NBYTES, check the RFC 864 pattern
  tcp_peer.py listen-sink PORT NBYTES    accept one connection, read until EOF,
                                         check NBYTES of ustackd's chargen pattern
  tcp_peer.py listen-send PORT NBYTES    accept one connection, send NBYTES of the
                                         chargen pattern (ustackd checks them)
"""
import hashlib
import os
import socket
import sys
import threading

CHUNK = 1 << 16


def chargen(n, start=0):
    out = bytearray(n)
    for k in range(n):
        i = start + k
        line, col = divmod(i, 74)
        out[k] = 13 if col == 72 else 10 if col == 73 else 32 + (line + col) % 95
    return bytes(out)


def echo(host, port, n):
    s = socket.create_connection((host, port), timeout=60)
    data = os.urandom(min(n, 1 << 20))
    sent_hash, got_hash = hashlib.sha256(), hashlib.sha256()

    def writer():
        left = n
        while left:
            chunk = data[: min(left, len(data))]
            s.sendall(chunk)
            sent_hash.update(chunk)
            left -= len(chunk)
        s.shutdown(socket.SHUT_WR)

    t = threading.Thread(target=writer)
    t.start()
    got = 0
    while True:
        b = s.recv(CHUNK)
        if not b:
            break
        got_hash.update(b)
        got += len(b)
    t.join()
    if got != n or got_hash.digest() != sent_hash.digest():
        sys.exit(f"echo: sent {n} bytes sha256 {sent_hash.hexdigest()}, "
                 f"got back {got} sha256 {got_hash.hexdigest()}")
    print(f"echo: {n} bytes each way, sha256 {sent_hash.hexdigest()[:16]}… equal")


def read_all(s):
    h, got = hashlib.sha256(), 0
    while True:
        b = s.recv(CHUNK)
        if not b:
            return h, got
        h.update(b)
        got += len(b)


def expect_chargen(s, n, what):
    h, got = hashlib.sha256(), 0
    ref = hashlib.sha256()
    pos = 0
    while True:
        b = s.recv(CHUNK)
        if not b:
            break
        h.update(b)
        got += len(b)
        if got > n:
            sys.exit(f"{what}: more than {n} bytes")
    while pos < n:
        k = min(CHUNK * 16, n - pos)
        ref.update(chargen(k, pos))
        pos += k
    if got != n or h.digest() != ref.digest():
        sys.exit(f"{what}: got {got} bytes, sha256 {h.hexdigest()}, expected {n} bytes "
                 f"sha256 {ref.hexdigest()}")
    print(f"{what}: {n} bytes of the chargen pattern, sha256 {h.hexdigest()[:16]}… as expected")


def main():
    mode = sys.argv[1]
    if mode == "echo":
        echo(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif mode == "chargen":
        s = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=30)
        n = int(sys.argv[4])
        buf = b""
        while len(buf) < n:
            b = s.recv(n - len(buf))
            if not b:
                break
            buf += b
        if buf != chargen(n):
            sys.exit("chargen: pattern differs")
        print(f"chargen: first {n} bytes match RFC 864")
    elif mode in ("listen-sink", "listen-send"):
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("0.0.0.0", int(sys.argv[2])))
        ls.listen(1)
        ls.settimeout(60)
        print("listening", flush=True)
        s, _ = ls.accept()
        s.settimeout(60)
        n = int(sys.argv[3])
        if mode == "listen-sink":
            expect_chargen(s, n, "from ustack")
        else:
            pos = 0
            while pos < n:
                k = min(CHUNK * 16, n - pos)
                s.sendall(chargen(k, pos))
                pos += k
            s.shutdown(socket.SHUT_WR)
            read_all(s)
            print(f"to ustack: sent {n} bytes of the chargen pattern")


if __name__ == "__main__":
    main()
