#!/usr/bin/env python3
# The "hypervisor process" of a hostsim VM (what QEMU is to a real VM): it opens the host's tap by name
# (TUNSETIFF on /dev/net/tun, inside the host's network namespace) and copies frames between that tap and
# the VM's NIC. The VM's NIC is `eth0` in the VM's namespace, a veth whose peer (`wire`, same namespace)
# this process reads and writes with an AF_PACKET socket.
#
#   ip netns exec <vm ns> python3 tap-relay.py <host netns path> <tap> <wire> <mac> <on|off>
#
# It never creates a tap: it waits until the tap exists (the host agent makes it) and opens it then; when
# the tap is deleted under it (the agent unplugs the vNIC) it waits for it to come back, as a VM whose
# NIC was hot-unplugged and plugged again. SIGUSR1 starts forwarding, SIGUSR2 pauses it (a VM being
# live-migrated runs on exactly one host at a time): on each start it announces the VM's MAC with RARP
# frames, as QEMU does after a migration, so switches learn where the VM now is. Status lines on stdout:
# `open`, `lost`, `on`, `off`.
import ctypes
import errno
import fcntl
import os
import select
import signal
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4

hostns, tap, wire_name, mac, initial = sys.argv[1:6]
mac_bytes = bytes(int(b, 16) for b in mac.split(':'))

# The wire first (the VM's namespace), then into the host's namespace for the tap.
wire = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
wire.bind((wire_name, 0))
libc = ctypes.CDLL(None, use_errno=True)
nsfd = os.open(hostns, os.O_RDONLY)
if libc.setns(nsfd, CLONE_NEWNET) != 0:
    raise OSError(ctypes.get_errno(), 'setns ' + hostns)
os.close(nsfd)

state = {'on': initial == 'on', 'announce': initial == 'on'}


def say(s):
    sys.stdout.write(s + '\n')
    sys.stdout.flush()


def on(_sig, _frm):
    state['on'] = True
    state['announce'] = True


def off(_sig, _frm):
    state['on'] = False


signal.signal(signal.SIGUSR1, on)
signal.signal(signal.SIGUSR2, off)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def rarp():
    # Ethernet broadcast, ethertype RARP, a "reverse request" for the VM's own MAC (QEMU's announce).
    return (b'\xff' * 6 + mac_bytes + b'\x80\x35' + struct.pack('!HHBBH', 1, 0x0800, 6, 4, 3)
            + mac_bytes + b'\x00' * 4 + mac_bytes + b'\x00' * 4 + b'\x00' * 18)


def exists(name):
    try:
        socket.if_nametoindex(name)
        return True
    except OSError:
        return False


fd = None
announced = 0.0
say('off' if not state['on'] else 'on')
was_on = state['on']
while True:
    if fd is None and exists(tap):
        try:
            f = os.open('/dev/net/tun', os.O_RDWR)
            fcntl.ioctl(f, TUNSETIFF, struct.pack('16sH', tap.encode(), IFF_TAP | IFF_NO_PI))
            fd = f
            say('open')
            if state['on']:
                state['announce'] = True
        except OSError:
            try:
                os.close(f)
            except Exception:
                pass
    if state['on'] != was_on:
        was_on = state['on']
        say('on' if was_on else 'off')
    if fd is not None and state['on'] and state['announce']:
        state['announce'] = False
        try:
            for _ in range(3):
                os.write(fd, rarp())
        except OSError:
            pass
    rl = [wire] + ([fd] if fd is not None else [])
    try:
        r, _, _ = select.select(rl, [], [], 0.05)
    except InterruptedError:
        continue
    if wire in r:
        frame, addr = wire.recvfrom(65535)
        if addr[2] != PACKET_OUTGOING and fd is not None and state['on']:
            try:
                os.write(fd, frame)
            except OSError:
                pass
    if fd is not None and fd in r:
        try:
            frame = os.read(fd, 65535)
            if state['on']:
                wire.send(frame)
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EINTR):
                continue
            os.close(fd)
            fd = None
            say('lost')
