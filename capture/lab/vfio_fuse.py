#!/usr/bin/python3
"""migscope lab: a FUSE file system whose files behave like VFIO group and device fds.

Run with Debian's /usr/bin/python3 (python3-fusepy imports as `fusepy` only there):

    /usr/bin/python3 vfio_fuse.py --mount DIR --scenario NAME [--scenarios FILE] [--log FILE]

Files served (see README.md):
    DIR/group          a VFIO group: VFIO_GROUP_GET_DEVICE_FD lives here
    DIR/<device name>  one per device of the scenario, size > 10 << 40, direct_io, so every
                       pread64/pwrite64 of the workload reaches this daemon with its exact
                       offset and size, and the daemon's value or errno goes back to the caller

The "vendor driver" side of protocol v1 (spec/vfio-migration.md §2) is emulated here and
scripted by the scenario's "driver" block in scenarios.json.  A device whose driver block
says "protocol": "v2" is a protocol-v2 device instead (spec §5, class DeviceV2): the kernel
core's VFIO_DEVICE_FEATURE checks, vfio_mig_get_next_state() (with the 2026 fix: the
blocked STOP_COPY -> PRE_COPY arc fails with EINVAL instead of looping), and a data_fd per
data session, served as DIR/<name>.data<K> files the workload pre-opened (README.md).  ioctls get real replies:
the daemon reads and writes the caller's argument struct with process_vm_readv/writev,
using the full argument pointer from /proc/<tid>/syscall (the caller is blocked inside
ioctl() while we answer, so that file shows its live arguments), so bpftrace sees at
syscall exit exactly what a kernel would have written.
"""
import argparse
import ctypes
import errno
import json
import os
import stat
import struct
import sys
import threading

import fusepy

VFIO_PCI_OFFSET_SHIFT = 40

# ioctl numbers, _IO(';', 100 + n) (spec §1.1); compared on the low 16 bits
VFIO_GROUP_GET_STATUS = 0x3B67
VFIO_GROUP_SET_CONTAINER = 0x3B68
VFIO_GROUP_GET_DEVICE_FD = 0x3B6A
VFIO_DEVICE_GET_INFO = 0x3B6B
VFIO_DEVICE_GET_REGION_INFO = 0x3B6C
VFIO_DEVICE_RESET = 0x3B6F
VFIO_DEVICE_FEATURE = 0x3B75
VFIO_MIG_GET_PRECOPY_INFO = 0x3B79

# v1 migration region (spec §2.1)
OFF_DEVICE_STATE, OFF_RESERVED, OFF_PENDING, OFF_DATA_OFFSET, OFF_DATA_SIZE = 0, 4, 8, 16, 24
HEADER_SIZE = 32
RUNNING, SAVING, RESUMING, MASK = 1, 2, 4, 7

REGION_READ, REGION_WRITE, REGION_MMAP, REGION_CAPS = 1, 2, 4, 8
CAP_SPARSE_MMAP, CAP_TYPE = 1, 2


# protocol v2 (spec §5.2, §5.3)
V2_ERROR, V2_STOP, V2_RUNNING, V2_STOP_COPY, V2_RESUMING, V2_RUNNING_P2P, V2_PRE_COPY, V2_PRE_COPY_P2P = range(8)
V2_NAMES = ["ERROR", "STOP", "RUNNING", "STOP_COPY", "RESUMING", "RUNNING_P2P", "PRE_COPY", "PRE_COPY_P2P"]
MIG_STOP_COPY, MIG_P2P, MIG_PRE_COPY = 1, 2, 4
FEATURE_MASK, FEATURE_GET, FEATURE_SET, FEATURE_PROBE = 0xFFFF, 1 << 16, 1 << 17, 1 << 18
FEATURE_MIGRATION, FEATURE_MIG_DEVICE_STATE, FEATURE_MIG_DATA_SIZE = 1, 2, 9
DATA_FILES_PER_DEVICE = 4  # DIR/<name>.data0 .. .data3: one per data session

# ---- caller memory -------------------------------------------------------------------

class _IoVec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.process_vm_readv.restype = ctypes.c_ssize_t
_libc.process_vm_writev.restype = ctypes.c_ssize_t
_libc.process_vm_readv.argtypes = [ctypes.c_int, ctypes.POINTER(_IoVec), ctypes.c_ulong,
                                   ctypes.POINTER(_IoVec), ctypes.c_ulong, ctypes.c_ulong]
_libc.process_vm_writev.argtypes = _libc.process_vm_readv.argtypes


def mem_read(tid, addr, n):
    buf = ctypes.create_string_buffer(n)
    local = _IoVec(ctypes.cast(buf, ctypes.c_void_p), n)
    remote = _IoVec(addr, n)
    got = _libc.process_vm_readv(tid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
    if got < 0:
        raise fusepy.FuseOSError(errno.EFAULT)
    return buf.raw[:got]


def mem_write(tid, addr, data):
    buf = ctypes.create_string_buffer(bytes(data), len(data))
    local = _IoVec(ctypes.cast(buf, ctypes.c_void_p), len(data))
    remote = _IoVec(addr, len(data))
    if _libc.process_vm_writev(tid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0) != len(data):
        raise fusepy.FuseOSError(errno.EFAULT)


def caller_ioctl_arg(tid, cmd, fuse_arg):
    """The caller's full 64-bit ioctl argument.

    /proc/<tid>/syscall shows "16 fd cmd arg ..." while the thread waits for our reply.
    LAB-NOTES saw fusepy hand over a pointer truncated to 32 bits; this is exact either way.
    """
    try:
        with open("/proc/%d/syscall" % tid) as f:
            parts = f.read().split()
        if len(parts) >= 4 and int(parts[0]) == 16 and (int(parts[2], 16) & 0xFFFF) == cmd:
            return int(parts[3], 16)
    except (OSError, ValueError):
        pass
    return (fuse_arg or 0) & 0xFFFFFFFFFFFFFFFF


# ---- the emulated vendor driver (protocol v1) ------------------------------------------

class Device:
    """One VFIO device with a v1 migration region at index `region_index`."""

    def __init__(self, name, cfg, log):
        self.name = name
        self.log = log
        self.region_index = cfg.get("region_index", 9)
        self.region_offset = self.region_index << VFIO_PCI_OFFSET_SHIFT
        self.region_size = cfg.get("region_size", 0x100000)
        self.data_offset = cfg.get("data_offset", 0x1000)
        self.chunk = cfg.get("chunk", 0x2000)
        self.precopy_bytes = cfg.get("precopy_bytes", 0x6000)
        self.stopcopy_bytes = cfg.get("stopcopy_bytes", 0x3000)
        # bytes the device dirties again per buffer handed over in pre-copy (issue 12: a
        # device whose pending_bytes grows every iteration when this exceeds the chunk)
        self.dirty_per_consume = cfg.get("dirty_per_consume", 0)
        self.accept_reserved = cfg.get("accept_reserved_states", False)
        self.accept_bad_width = cfg.get("accept_bad_width", False)
        self.empty_data_size_in = set(cfg.get("empty_data_size_in", []))  # states where data_size reads 0
        self.rules = [dict(r, used=0) for r in cfg.get("fail", [])]
        self.state = cfg.get("initial_state", RUNNING)
        self.pre_left = 0
        self.stop_left = 0
        self.stop_added = False
        self.staged = 0  # bytes of the buffer exposed by the last data_offset read
        self.seq = 0
        self.resume_bytes = 0

    # -- device_state -------------------------------------------------------------
    def write_state(self, new):
        old = self.state
        for r in self.rules:
            if r["used"] >= r.get("times", 1):
                continue
            if "from" in r and (old & MASK) != r["from"]:
                continue
            if "to" in r and (new & MASK) != r["to"]:
                continue
            r["used"] += 1
            if "readback" in r:
                self.state = r["readback"]
            self.log("device_state write 0x%x refused by script: errno %d, state now 0x%x"
                     % (new, r["errno"], self.state))
            raise fusepy.FuseOSError(r["errno"])
        low = new & MASK
        if (old & MASK) == 6:
            # writes out of the error state must fail; only reset leaves it (spec §2.6)
            raise fusepy.FuseOSError(errno.EINVAL)
        if low == 6 or ((low == 5 or low == 7) and not self.accept_reserved):
            raise fusepy.FuseOSError(errno.EINVAL)
        self._enter(old, new)
        self.state = new
        self.log("device_state 0x%x -> 0x%x" % (old, new))

    def _enter(self, old, new):
        was_saving = (old & MASK) in (2, 3)
        low = new & MASK
        if low in (2, 3) and not was_saving:
            # a new saving session: pre-copy data, then stop-and-copy data
            self.pre_left = self.precopy_bytes if low == 3 else 0
            self.stop_left = self.stopcopy_bytes
            self.stop_added = low == 2
            self.staged = 0
        elif low == 2 and was_saving:
            self.stop_added = True
        elif low not in (2, 3):
            self.pre_left = self.stop_left = self.staged = 0
        if low == 4:
            self.resume_bytes = 0

    def pending(self):
        low = self.state & MASK
        if low == 3:
            return self.pre_left
        if low == 2:
            return self.pre_left + self.stop_left
        return 0

    def consume(self):
        # reading pending_bytes tells the driver the previous buffer was consumed (§2.5 f)
        n = self.staged
        take = min(n, self.pre_left)
        self.pre_left -= take
        if n and (self.state & MASK) == 3:
            self.pre_left += self.dirty_per_consume
        self.stop_left = max(0, self.stop_left - (n - take))
        self.staged = 0

    # -- region access ------------------------------------------------------------
    def read(self, off, size):
        rel = off - self.region_offset
        if not (0 <= rel < self.region_size) or rel + size > self.region_size:
            return bytes(size)  # other regions (BARs, config): zeros
        if rel < HEADER_SIZE:
            return self._read_header(rel, size)
        # data section
        lo = self.data_offset
        if self.staged and lo <= rel and rel + size <= lo + self.staged:
            pat = b"VFIOMIG" + bytes([0x30 + self.seq % 10])
            start = (rel - lo) % 8
            return (pat * ((size + start) // 8 + 2))[start:start + size]
        return bytes(size)

    def _read_header(self, rel, size):
        native = {OFF_DEVICE_STATE: 4, OFF_RESERVED: 4, OFF_PENDING: 8, OFF_DATA_OFFSET: 8, OFF_DATA_SIZE: 8}
        if native.get(rel) != size and not self.accept_bad_width:
            raise fusepy.FuseOSError(errno.EINVAL)
        if rel == OFF_DEVICE_STATE:
            v = self.state
        elif rel == OFF_RESERVED:
            v = 0
        elif rel == OFF_PENDING:
            self.consume()
            v = self.pending()
        elif rel == OFF_DATA_OFFSET:
            if (self.state & MASK) in (2, 3) and not self.staged and self.pending():
                self.staged = min(self.chunk, self.pending())
                self.seq += 1
            v = self.data_offset
        else:
            v = 0 if (self.state & MASK) in self.empty_data_size_in else self.staged
        return (v & ((1 << (8 * size)) - 1)).to_bytes(size, "little") if size <= 8 else bytes(size)

    def write(self, off, data):
        rel = off - self.region_offset
        size = len(data)
        if not (0 <= rel < self.region_size) or rel + size > self.region_size:
            return size
        if rel >= HEADER_SIZE:
            if (self.state & MASK) != 4:
                raise fusepy.FuseOSError(errno.EINVAL)
            self.resume_bytes += size
            return size
        if rel == OFF_DEVICE_STATE and size == 4:
            self.write_state(int.from_bytes(data, "little"))
            return size
        if rel == OFF_DEVICE_STATE and self.accept_bad_width:
            v = (self.state & ~((1 << (8 * size)) - 1)) | int.from_bytes(data, "little")
            self.write_state(v)
            return size
        if rel == OFF_RESERVED and size == 4:
            return size  # ignored (§2.3 rule 7)
        if rel == OFF_DATA_SIZE and size == 8 and (self.state & MASK) == 4:
            n = int.from_bytes(data, "little")
            self.log("resume chunk of %d bytes applied (%d written)" % (n, self.resume_bytes))
            self.resume_bytes = 0
            return size
        raise fusepy.FuseOSError(errno.EINVAL)  # read-only field, wrong width or wrong state

    # -- ioctls -------------------------------------------------------------------
    def region_info(self, argsz, index):
        """(reply bytes, reply argsz) for VFIO_DEVICE_GET_REGION_INFO (spec §1.3)."""
        caps = b""
        if index == self.region_index:
            flags = REGION_READ | REGION_WRITE | REGION_CAPS
            size, offset = self.region_size, self.region_offset
            # cap chain: an (empty) SPARSE_MMAP first, then TYPE migration 3/1, so that a
            # reader has to follow `next` to find the type (QEMU does)
            sparse = struct.pack("<HHIII", CAP_SPARSE_MMAP, 1, 32 + 16, 0, 0)
            typ = struct.pack("<HHIII", CAP_TYPE, 1, 0, 3, 1)
            caps = sparse + typ
        elif index in (0, 7):
            flags = REGION_READ | REGION_WRITE
            size, offset = (0x1000 if index == 0 else 0x100), index << VFIO_PCI_OFFSET_SHIFT
        elif index < self.region_index:
            flags, size, offset = 0, 0, index << VFIO_PCI_OFFSET_SHIFT
        else:
            raise fusepy.FuseOSError(errno.EINVAL)
        need = 32 + len(caps)
        if caps and argsz < need:
            # too small: CAPS set, cap_offset 0, argsz raised to what is needed
            return struct.pack("<IIIIQQ", need, flags, index, 0, size, offset), 32
        body = struct.pack("<IIIIQQ", argsz, flags, index, 32 if caps else 0, size, offset) + caps
        return body, len(body)


# ---- the emulated vendor driver (protocol v2) ------------------------------------------

E, S, R, SC, RS, RP, PC, PP = range(8)
# vfio_from_fsm_table[cur][requested] (spec §5.5), rows and columns in enum order
FSM = {
    E: [E, E, E, E, E, E, E, E],
    S: [E, S, RP, SC, RS, RP, RP, RP],
    R: [E, RP, R, RP, RP, RP, PC, RP],
    SC: [E, S, S, SC, S, S, E, E],
    RS: [E, S, S, S, RS, S, S, S],
    RP: [E, S, R, S, S, RP, R, PP],
    PC: [E, R, R, PP, R, R, PC, PP],
    PP: [E, RP, RP, SC, RP, RP, PC, PP],
}
NEEDS = {E: None, S: MIG_STOP_COPY, R: MIG_STOP_COPY, SC: MIG_STOP_COPY, RS: MIG_STOP_COPY,
         RP: MIG_STOP_COPY | MIG_P2P, PC: MIG_STOP_COPY | MIG_PRE_COPY, PP: MIG_STOP_COPY | MIG_P2P | MIG_PRE_COPY}
SESSION_START = {(R, PC): "save", (RP, PP): "save", (S, SC): "save", (S, RS): "resume"}
SESSION_END = {(SC, S), (PC, R), (PP, RP), (RS, S)}


class Session:
    """One data transfer session and its data_fd (spec §5.3, §5.4)."""

    def __init__(self, kind, initial, stop, dirty_per_read=0):
        self.kind = kind
        self.active = True
        self.initial_left = initial  # PRE_COPY data (initial_bytes)
        self.dirty_left = 0  # data dirtied since it was first handed over (dirty_bytes)
        self.dirty_per_read = dirty_per_read
        self.stop_left = stop  # what only STOP_COPY delivers
        self.resume_bytes = 0

    def left(self):
        return self.initial_left + self.dirty_left + self.stop_left


class DeviceV2:
    """A protocol-v2 device: the kernel core's checks plus a vendor driver's arcs."""

    def __init__(self, name, cfg, log):
        self.name = name
        self.log = log
        self.flags = cfg.get("migration_flags", MIG_STOP_COPY)
        self.chunk = cfg.get("chunk", 0x2000)
        self.precopy_bytes = cfg.get("precopy_bytes", 0x6000)
        self.stopcopy_bytes = cfg.get("stopcopy_bytes", 0x3000)
        # issue 12: bytes the device dirties again per read it serves in pre-copy (reported as
        # PRECOPY_INFO dirty_bytes; more than a read moves makes pre-copy grow), and an errno
        # for every MIG_DATA_SIZE GET (a driver that cannot say its stop-copy size)
        self.dirty_per_read = cfg.get("dirty_per_read", 0)
        self.fail_data_size = cfg.get("fail_data_size")
        # fail: [{"from": state, "to": state, "errno": n, "to_error": bool, "times": n}] for single arcs
        self.rules = [dict(r, used=0) for r in cfg.get("fail", [])]
        self.state = V2_RUNNING
        self.session = None

    def supported(self, st):
        need = NEEDS.get(st)
        return need is not None and (self.flags & need) == need

    def next_state(self, cur, req):
        """vfio_mig_get_next_state() (spec §5.5), as fixed in 2026: the skip loop ends on ERROR."""
        if not self.supported(cur):
            raise fusepy.FuseOSError(errno.EINVAL)  # the kernel WARN_ONs here (ERROR as current state)
        if req >= 8 or req < 0 or not self.supported(req):
            raise fusepy.FuseOSError(errno.EINVAL)
        nxt = FSM[cur][req]
        while not self.supported(nxt):
            if nxt == E:
                break
            nxt = FSM[nxt][req]
        if nxt == E:
            raise fusepy.FuseOSError(errno.EINVAL)
        return nxt

    def set_state(self, req, hand_data_fd):
        """MIG_DEVICE_STATE SET: walk arc by arc; returns the new data_fd or -1."""
        new_fd = -1
        while self.state != req:
            nxt = self.next_state(self.state, req)
            self.arc(self.state, nxt)
            kind = SESSION_START.get((self.state, nxt))
            if kind is not None:
                if self.session is not None:
                    self.session.active = False
                self.session = Session(kind, self.precopy_bytes, self.stopcopy_bytes, self.dirty_per_read)
                new_fd = hand_data_fd(self.session)
            self.log("%s: %s -> %s" % (self.name, V2_NAMES[self.state], V2_NAMES[nxt]))
            self.state = nxt
        return new_fd

    def arc(self, cur, nxt):
        for r in self.rules:
            if r["used"] >= r.get("times", 1) or r.get("from", cur) != cur or r.get("to", nxt) != nxt:
                continue
            r["used"] += 1
            if r.get("to_error"):
                self.state = V2_ERROR
                if self.session is not None:
                    self.session.active = False
            self.log("%s: arc %s -> %s refused by script: errno %d, state %s"
                     % (self.name, V2_NAMES[cur], V2_NAMES[nxt], r["errno"], V2_NAMES[self.state]))
            raise fusepy.FuseOSError(r["errno"])
        if (cur, nxt) in SESSION_END and self.session is not None:
            self.session.active = False

    def reset(self):
        self.state = V2_RUNNING
        if self.session is not None:
            self.session.active = False

    # -- the data_fd (spec §5.4; ENODEV once disabled, as mlx5 does) ----------------
    def data_read(self, sess, size):
        if not sess.active:
            raise fusepy.FuseOSError(errno.ENODEV)
        if sess.kind != "save":
            raise fusepy.FuseOSError(errno.EINVAL)
        if self.state in (V2_PRE_COPY, V2_PRE_COPY_P2P):
            if sess.initial_left + sess.dirty_left == 0:
                raise fusepy.FuseOSError(errno.ENOMSG)  # temporary end of data
            n = min(size, self.chunk, sess.initial_left + sess.dirty_left)
            take = min(n, sess.initial_left)
            sess.initial_left -= take
            sess.dirty_left -= n - take
            if self.state == V2_PRE_COPY:
                sess.dirty_left += sess.dirty_per_read  # the running device dirties more
        elif self.state == V2_STOP_COPY:
            n = min(size, self.chunk, sess.left())
            take = min(n, sess.initial_left)
            sess.initial_left -= take
            dirty = min(n - take, sess.dirty_left)
            sess.dirty_left -= dirty
            sess.stop_left -= n - take - dirty
        else:
            raise fusepy.FuseOSError(errno.EINVAL)
        return (b"VFIOMIG2" * (n // 8 + 1))[:n]

    def data_write(self, sess, data):
        if not sess.active:
            raise fusepy.FuseOSError(errno.ENODEV)
        if sess.kind != "resume" or self.state != V2_RESUMING:
            raise fusepy.FuseOSError(errno.EINVAL)
        sess.resume_bytes += len(data)
        return len(data)

    def precopy_info(self, sess):
        if not sess.active or self.state not in (V2_PRE_COPY, V2_PRE_COPY_P2P):
            raise fusepy.FuseOSError(errno.EINVAL)
        return sess.initial_left, sess.dirty_left

    # -- VFIO_DEVICE_FEATURE (spec §5.2): the kernel core's checks, then the feature ------
    def feature(self, tid, addr, hand_data_fd):
        argsz, flags = struct.unpack("<II", mem_read(tid, addr, 8))
        known = FEATURE_MASK | FEATURE_GET | FEATURE_SET | FEATURE_PROBE
        get, setf, probe = flags & FEATURE_GET, flags & FEATURE_SET, flags & FEATURE_PROBE
        if argsz < 8 or flags & ~known or (get and setf and not probe):
            raise fusepy.FuseOSError(errno.EINVAL)
        feat = flags & FEATURE_MASK
        ops = {FEATURE_MIGRATION: (True, False), FEATURE_MIG_DEVICE_STATE: (True, True), FEATURE_MIG_DATA_SIZE: (True, False)}
        if feat not in ops:
            raise fusepy.FuseOSError(errno.ENOTTY)
        can_get, can_set = ops[feat]
        if (get and not can_get) or (setf and not can_set):
            raise fusepy.FuseOSError(errno.EINVAL)
        if probe:
            return 0
        if not get and not setf:
            raise fusepy.FuseOSError(errno.EINVAL)
        if argsz - 8 < 8:
            raise fusepy.FuseOSError(errno.EINVAL)
        if feat == FEATURE_MIGRATION:
            mem_write(tid, addr + 8, struct.pack("<Q", self.flags))
            return 0
        if feat == FEATURE_MIG_DATA_SIZE:
            if self.fail_data_size is not None:
                self.log("%s: MIG_DATA_SIZE refused by script: errno %d" % (self.name, self.fail_data_size))
                raise fusepy.FuseOSError(self.fail_data_size)
            left = self.precopy_bytes + self.stopcopy_bytes
            if self.session is not None and self.session.active and self.session.kind == "save":
                left = self.session.left()
            mem_write(tid, addr + 8, struct.pack("<Q", left))
            return 0
        if get:
            mem_write(tid, addr + 8, struct.pack("<Ii", self.state, -1))
            return 0
        req = struct.unpack("<I", mem_read(tid, addr + 8, 4))[0]
        try:
            fd = self.set_state(req, hand_data_fd)
        except fusepy.FuseOSError:
            # on error the kernel still copies the struct back, data_fd = -1 (spec §5.2)
            mem_write(tid, addr + 8, struct.pack("<Ii", req, -1))
            raise
        mem_write(tid, addr + 8, struct.pack("<Ii", req, fd))
        return 0


class LabFS(fusepy.Operations):
    def __init__(self, scenario, mount, log):
        self.mount = os.path.abspath(mount)
        self.log = log
        self.mutex = threading.Lock()  # not "lock": that name is a FUSE operation
        self.devices = {}
        for d in scenario["devices"]:
            drv = d.get("driver", {})
            cls = DeviceV2 if drv.get("protocol") == "v2" else Device
            self.devices[d["name"]] = cls(d["name"], drv, log)
        self.handed = set()  # (tgid, fd) already returned by GET_DEVICE_FD or as a data_fd
        self.sessions = {}  # data file path ("/<name>.dataK") -> (device, Session)

    # -- plumbing -----------------------------------------------------------------
    def _dev(self, path):
        d = self.devices.get(path.lstrip("/"))
        if d is None:
            raise fusepy.FuseOSError(errno.ENOENT)
        return d

    def _data_file(self, path):
        """(device, index) for "/<v2 device name>.data<K>", else None."""
        name, dot, rest = path.lstrip("/").rpartition(".data")
        if not dot or not rest.isdigit() or int(rest) >= DATA_FILES_PER_DEVICE:
            return None
        d = self.devices.get(name)
        return (d, int(rest)) if isinstance(d, DeviceV2) else None

    def getattr(self, path, fh=None):
        if path == "/":
            return dict(st_mode=stat.S_IFDIR | 0o755, st_nlink=2)
        if path == "/group":
            return dict(st_mode=stat.S_IFREG | 0o600, st_nlink=1, st_size=0)
        if self._data_file(path) is not None:
            return dict(st_mode=stat.S_IFREG | 0o600, st_nlink=1, st_size=16 << VFIO_PCI_OFFSET_SHIFT)
        self._dev(path)
        return dict(st_mode=stat.S_IFREG | 0o600, st_nlink=1, st_size=16 << VFIO_PCI_OFFSET_SHIFT)

    def readdir(self, path, fh):
        data = ["%s.data%d" % (n, k) for n, d in self.devices.items() if isinstance(d, DeviceV2) for k in range(DATA_FILES_PER_DEVICE)]
        return [".", "..", "group"] + sorted(self.devices) + data

    def open(self, path, flags):
        if path != "/group" and self._data_file(path) is None:
            self._dev(path)
        return 0

    def truncate(self, path, length, fh=None):
        raise fusepy.FuseOSError(errno.EINVAL)

    def read(self, path, size, offset, fh):
        if self._data_file(path) is not None:
            return self._data_io(path, size, None)
        with self.mutex:
            data = self._dev(path).read(offset, size)
        self.log("read %s off=0x%x size=%d -> %s" % (path, offset, size, data[:8].hex()))
        return data

    def write(self, path, data, offset, fh):
        if self._data_file(path) is not None:
            return self._data_io(path, len(data), data)
        with self.mutex:
            try:
                n = self._dev(path).write(offset, data)
            except fusepy.FuseOSError as e:
                self.log("write %s off=0x%x size=%d val=%s -> errno %d" % (path, offset, len(data), data[:8].hex(), e.errno))
                raise
        self.log("write %s off=0x%x size=%d val=%s -> %d" % (path, offset, len(data), data[:8].hex(), n))
        return n

    def _data_io(self, path, size, data):
        """read() (data None) or write() on a data_fd file (spec §5.4)."""
        with self.mutex:
            dev, sess = self.sessions.get(path, (None, None))
            try:
                if sess is None:
                    raise fusepy.FuseOSError(errno.EBADF)  # never handed out as a data_fd
                r = dev.data_read(sess, size) if data is None else dev.data_write(sess, data)
            except fusepy.FuseOSError as e:
                self.log("%s %s size=%d -> errno %d" % ("read" if data is None else "write", path, size, e.errno))
                raise
        self.log("%s %s size=%d -> %d" % ("read" if data is None else "write", path, size, len(r) if data is None else r))
        return r

    def ioctl(self, path, cmd, arg, fh, flags, data):
        tid = fusepy.fuse_get_context()[2]
        cmd &= 0xFFFF
        addr = caller_ioctl_arg(tid, cmd, arg)
        with self.mutex:
            r = self._ioctl(path, cmd, addr, tid)
        self.log("ioctl %s cmd=0x%x arg=0x%x -> %d" % (path, cmd, addr, r))
        return r

    def _ioctl(self, path, cmd, addr, tid):
        if path == "/group":
            if cmd == VFIO_GROUP_GET_DEVICE_FD:
                raw = mem_read(tid, addr, 256)
                name = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
                if name not in self.devices:
                    raise fusepy.FuseOSError(errno.ENODEV)
                return self._device_fd(tid, name)
            if cmd in (VFIO_GROUP_GET_STATUS, VFIO_GROUP_SET_CONTAINER):
                return 0
            raise fusepy.FuseOSError(errno.ENOTTY)
        df = self._data_file(path)
        if df is not None:
            if cmd != VFIO_MIG_GET_PRECOPY_INFO:
                raise fusepy.FuseOSError(errno.ENOTTY)
            dev, sess = self.sessions.get(path, (None, None))
            if sess is None:
                raise fusepy.FuseOSError(errno.EBADF)
            argsz = struct.unpack("<I", mem_read(tid, addr, 4))[0]
            if argsz < 24:
                raise fusepy.FuseOSError(errno.EINVAL)
            initial, dirty = dev.precopy_info(sess)
            mem_write(tid, addr + 8, struct.pack("<QQ", initial, dirty))
            return 0
        dev = self._dev(path)
        if isinstance(dev, DeviceV2):
            if cmd == VFIO_DEVICE_FEATURE:
                return dev.feature(tid, addr, lambda sess: self._hand_data_fd(tid, dev, sess))
            if cmd == VFIO_DEVICE_RESET:
                self.log("reset %s: %s -> RUNNING" % (dev.name, V2_NAMES[dev.state]))
                dev.reset()
                return 0
            raise fusepy.FuseOSError(errno.ENOTTY)
        if cmd == VFIO_DEVICE_GET_REGION_INFO:
            argsz, _flags, index = struct.unpack("<III", mem_read(tid, addr, 12))
            if argsz < 32:
                raise fusepy.FuseOSError(errno.EINVAL)
            body, n = dev.region_info(argsz, index)
            mem_write(tid, addr, body[:min(n, argsz)])
            return 0
        if cmd == VFIO_DEVICE_GET_INFO:
            argsz = struct.unpack("<I", mem_read(tid, addr, 4))[0]
            if argsz < 16:
                raise fusepy.FuseOSError(errno.EINVAL)
            # flags RESET|PCI, num_regions = index of the migration region + 1, 5 irqs
            mem_write(tid, addr, struct.pack("<IIII", argsz, 3, dev.region_index + 1, 5))
            return 0
        if cmd == VFIO_DEVICE_RESET:
            # reset returns the device to its default state, RUNNING (spec §2.6)
            self.log("reset %s: 0x%x -> 0x1" % (dev.name, dev.state))
            dev.state = RUNNING
            dev.pre_left = dev.stop_left = dev.staged = 0
            return 0
        # VFIO_DEVICE_FEATURE and the rest: a v1-only device has no v2 migration ops
        raise fusepy.FuseOSError(errno.ENOTTY)

    def _hand_data_fd(self, tid, dev, sess):
        """A new data_fd: one the caller pre-opened on DIR/<name>.data<K> (README.md)."""
        for k in range(DATA_FILES_PER_DEVICE):
            path = "/%s.data%d" % (dev.name, k)
            if path in self.sessions:
                continue
            try:
                fd = self._device_fd(tid, "%s.data%d" % (dev.name, k))
            except fusepy.FuseOSError:
                continue
            self.sessions[path] = (dev, sess)
            return fd
        raise fusepy.FuseOSError(errno.EMFILE)

    def _device_fd(self, tid, name):
        """The fd the caller pre-opened on DIR/<name> (README: why the workload pre-opens)."""
        tgid = tid
        try:
            with open("/proc/%d/status" % tid) as f:
                for line in f:
                    if line.startswith("Tgid:"):
                        tgid = int(line.split()[1])
        except OSError:
            pass
        want = os.path.join(self.mount, name)
        fds = []
        for ent in os.listdir("/proc/%d/fd" % tgid):
            try:
                if os.readlink("/proc/%d/fd/%s" % (tgid, ent)) == want:
                    fds.append(int(ent))
            except OSError:
                continue
        for fd in sorted(fds):
            if (tgid, fd) not in self.handed:
                self.handed.add((tgid, fd))
                return fd
        raise fusepy.FuseOSError(errno.EMFILE)


def load_scenario(path, name):
    with open(path) as f:
        doc = json.load(f)
    for s in doc["scenarios"]:
        if s["name"] == name:
            return s
    raise SystemExit("unknown scenario %r (see %s)" % (name, path))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mount", required=True)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--scenarios", default=os.path.join(here, "scenarios.json"))
    ap.add_argument("--log", help="driver-side journal (text)")
    args = ap.parse_args()
    scenario = load_scenario(args.scenarios, args.scenario)
    logf = open(args.log, "a", buffering=1) if args.log else None

    def log(msg):
        if logf:
            logf.write(msg + "\n")

    # foreground; direct_io so that every access reaches us unchanged and uncached
    fusepy.FUSE(LabFS(scenario, args.mount, log), args.mount, foreground=True,
                direct_io=True, nothreads=False, fsname="migscope-lab")


if __name__ == "__main__":
    main()
