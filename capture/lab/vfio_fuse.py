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
scripted by the scenario's "driver" block in scenarios.json.  ioctls get real replies:
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

# v1 migration region (spec §2.1)
OFF_DEVICE_STATE, OFF_RESERVED, OFF_PENDING, OFF_DATA_OFFSET, OFF_DATA_SIZE = 0, 4, 8, 16, 24
HEADER_SIZE = 32
RUNNING, SAVING, RESUMING, MASK = 1, 2, 4, 7

REGION_READ, REGION_WRITE, REGION_MMAP, REGION_CAPS = 1, 2, 4, 8
CAP_SPARSE_MMAP, CAP_TYPE = 1, 2


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


class LabFS(fusepy.Operations):
    def __init__(self, scenario, mount, log):
        self.mount = os.path.abspath(mount)
        self.log = log
        self.mutex = threading.Lock()  # not "lock": that name is a FUSE operation
        self.devices = {}
        for d in scenario["devices"]:
            self.devices[d["name"]] = Device(d["name"], d.get("driver", {}), log)
        self.handed = set()  # (tgid, fd) already returned by GET_DEVICE_FD

    # -- plumbing -----------------------------------------------------------------
    def _dev(self, path):
        d = self.devices.get(path.lstrip("/"))
        if d is None:
            raise fusepy.FuseOSError(errno.ENOENT)
        return d

    def getattr(self, path, fh=None):
        if path == "/":
            return dict(st_mode=stat.S_IFDIR | 0o755, st_nlink=2)
        if path == "/group":
            return dict(st_mode=stat.S_IFREG | 0o600, st_nlink=1, st_size=0)
        self._dev(path)
        return dict(st_mode=stat.S_IFREG | 0o600, st_nlink=1, st_size=16 << VFIO_PCI_OFFSET_SHIFT)

    def readdir(self, path, fh):
        return [".", "..", "group"] + sorted(self.devices)

    def open(self, path, flags):
        if path != "/group":
            self._dev(path)
        return 0

    def truncate(self, path, length, fh=None):
        raise fusepy.FuseOSError(errno.EINVAL)

    def read(self, path, size, offset, fh):
        with self.mutex:
            data = self._dev(path).read(offset, size)
        self.log("read %s off=0x%x size=%d -> %s" % (path, offset, size, data[:8].hex()))
        return data

    def write(self, path, data, offset, fh):
        with self.mutex:
            try:
                n = self._dev(path).write(offset, data)
            except fusepy.FuseOSError as e:
                self.log("write %s off=0x%x size=%d val=%s -> errno %d" % (path, offset, len(data), data[:8].hex(), e.errno))
                raise
        self.log("write %s off=0x%x size=%d val=%s -> %d" % (path, offset, len(data), data[:8].hex(), n))
        return n

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
        dev = self._dev(path)
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
