#!/usr/bin/env python3
"""IPv6 router advertisements with router lifetime 0 and no prefix, on one interface.

Why: iPXE's autoboot waits for IPv6 router discovery (about 13 s of router solicitations) before it
uses its DHCPv4 result. A router advertisement ends that wait at once; lifetime 0 and no prefix
mean "no default router, no addresses", so nothing actually gets IPv6 configuration. This is what a
real provisioning LAN with a router on it looks like to iPXE.

Node has no raw sockets, hence this small script (python3 is part of the base Debian system).
Usage: ra-sender.py IFNAME [MAX_SECONDS]   — started inside the test's namespace, killed by pid;
it also stops by itself after MAX_SECONDS (default 1800).
"""
import socket
import struct
import sys
import time

ifname = sys.argv[1]
max_seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 1800.0
index = socket.if_nametoindex(ifname)
sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)  # RFC 4861: hop limit 255
sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
# type 134 (RA), code 0, checksum 0 (the kernel fills it in for ICMPv6 raw sockets), cur hop limit 64,
# flags 0, router lifetime 0, reachable time 0, retrans timer 0; no options.
ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 0, 0, 0)
print(f"ra-sender: sending router advertisements (lifetime 0) on {ifname}", flush=True)
end = time.monotonic() + max_seconds
last_error = None
while time.monotonic() < end:
    try:
        sock.sendto(ra, ("ff02::1", 0, 0, index))
        last_error = None
    except OSError as err:  # e.g. no link-local address yet (DAD): retry
        if str(err) != last_error:
            print(f"ra-sender: {err}", flush=True)
            last_error = str(err)
    time.sleep(0.5)
