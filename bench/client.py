#!/usr/bin/python3
"""Benchmark client, run in the peer namespace against either server.

  client.py HOST PORT_DISCARD PORT_ECHO MBYTES ROUNDS

Prints two numbers: throughput to discard (MB/s) and the median round trip of
1-byte messages through echo (microseconds), each the median of 5 runs.
"""
import socket
import statistics
import sys
import time

host, pd, pe, mb, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
buf = b"\x5a" * (1 << 16)


def throughput():
    s = socket.create_connection((host, pd))
    left = mb << 20
    t0 = time.perf_counter()
    while left:
        n = s.send(buf if left >= len(buf) else buf[:left])
        left -= n
    s.shutdown(socket.SHUT_WR)
    s.recv(1)  # wait for the server's FIN: everything was taken
    dt = time.perf_counter() - t0
    s.close()
    return mb / dt


def latency():
    s = socket.create_connection((host, pe))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rtts = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        s.send(b"x")
        s.recv(1)
        rtts.append((time.perf_counter_ns() - t0) / 1000)
    s.close()
    return statistics.median(rtts)


tp = statistics.median(throughput() for _ in range(5))
lat = statistics.median(latency() for _ in range(5))
print(f"{tp:.1f} {lat:.1f}")
