#!/usr/bin/python3
"""migscope lab workload: a VMM's protocol-v1 and v2 sequences as REAL syscalls.

It plays QEMU 5.2-7.2 (spec/vfio-migration.md §3) and, for v2 devices, QEMU 8.x (spec
§5.6) against the emulated devices that vfio_fuse.py serves, so the kernel and bpftrace
see genuine pread64/pwrite64/ioctl/read/write calls with driver-side answers.  Every
scenario is described in scenarios.md / scenarios.json.

    python3 workload.py --mount DIR --scenario NAME [--wait-go] [--journal FILE] [--qemu-io]

--wait-go   print "ready pid=N" on stdout, then wait for a line on stdin before the first
            traced syscall (lets a tracer attach to this pid first: `migscope capture --pid`)
--journal   write what was done (one JSON object per syscall) to FILE at exit, so a test can
            check the trace against it
--qemu-io   read and write the data section in 8-byte syscalls as QEMU does without mmap
            (spec §3.2); the default moves each buffer in one syscall to keep traces small
--qemu-log  also write what QEMU 7.2's log trace backend would (`-msg timestamp=on -trace
            'vfio_*'`): `TID@SEC.USEC:event args` lines from the thread that made the
            syscalls, right after them, with gettimeofday time (scripts/tracetool/backend/
            log.py of 7.2); formats from QEMU 7.2 hw/vfio/trace-events (vfio_migration_probe,
            vfio_migration_set_state). For testing the merge of a QEMU log with a capture.
--qmp-log   also write a QMP transcript of the migration (a client's `migrate`, QEMU's
            MIGRATION and STOP events with their wall-clock timestamps, a final
            `query-migrate` reply with the times measured here)
--early-open  open the devices (GET_DEVICE_FD, region probe) before --wait-go's "ready":
            a capture started then sees the devices only as pid:fd, as when tracing starts
            after QEMU set them up

Only the standard library is used; any python3 works.
"""
import argparse
import ctypes
import errno
import fcntl
import json
import os
import struct
import sys
import threading
import time

VFIO_GROUP_GET_DEVICE_FD = 0x3B6A
VFIO_DEVICE_GET_INFO = 0x3B6B
VFIO_DEVICE_GET_REGION_INFO = 0x3B6C
VFIO_DEVICE_RESET = 0x3B6F
VFIO_DEVICE_FEATURE = 0x3B75
VFIO_MIG_GET_PRECOPY_INFO = 0x3B79

# protocol v2 (spec §5.2, §5.3)
V2_ERROR, V2_STOP, V2_RUNNING, V2_STOP_COPY, V2_RESUMING, V2_RUNNING_P2P, V2_PRE_COPY, V2_PRE_COPY_P2P = range(8)
V2_NAMES = ["ERROR", "STOP", "RUNNING", "STOP_COPY", "RESUMING", "RUNNING_P2P", "PRE_COPY", "PRE_COPY_P2P"]
FEATURE_GET, FEATURE_SET = 1 << 16, 1 << 17
FEATURE_MIGRATION, FEATURE_MIG_DEVICE_STATE, FEATURE_MIG_DATA_SIZE = 1, 2, 9
DATA_FILES_PER_DEVICE = 4  # must match vfio_fuse.py
# QEMU's stop-copy size when VFIO_DEVICE_FEATURE_MIG_DATA_SIZE fails: VFIO_MIG_STOP_COPY_SIZE
# (100 GiB, hw/vfio/migration.c since 8.1), which no downtime limit fits
VFIO_MIG_STOP_COPY_SIZE = 100 << 30
READ_SIZE = 0x10000  # QEMU reads 1 MiB; FUSE would split that, the driver answers per chunk anyway

RUNNING, SAVING, RESUMING, MASK = 1, 2, 4, 7
U32 = 0xFFFFFFFF
OFF_DEVICE_STATE, OFF_PENDING, OFF_DATA_OFFSET, OFF_DATA_SIZE = 0, 8, 16, 24

PR_SET_NAME = 15
_libc = ctypes.CDLL(None, use_errno=True)


def set_comm(name):
    _libc.prctl(PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)


def valid(state):
    """VFIO_DEVICE_STATE_VALID (spec §2.2)."""
    return (state & MASK) == 4 if state & RESUMING else True


class Abort(Exception):
    """QEMU's hw_error(): the device reads back the error state after a failed write."""


class Dev:
    def __init__(self, name, fd, v2=False):
        self.name = name
        self.fd = fd
        self.v2 = v2
        self.data_fd = -1  # v2: the open data_fd (QEMU's migration->data_fd)
        self.region = None  # fd offset of the migration region (from GET_REGION_INFO)
        self.region_size = 0


class QemuOut:
    """What QEMU itself writes beside its syscalls: its log backend's trace lines, its QMP events."""

    def __init__(self, log_path, qmp_path):
        self.log = open(log_path, "w", buffering=1) if log_path else None
        self.qmp = open(qmp_path, "w", buffering=1) if qmp_path else None
        self.said = set()
        self.t0 = {}

    def trace(self, event, fmt):
        # QEMU 7.2 log.py: qemu_log("%d@%zu.%06zu:" name " " fmt "\n", qemu_get_thread_id(), tv_sec, tv_usec, ...)
        if self.log is None:
            return
        sec, ns = divmod(time.time_ns(), 1_000_000_000)
        self.log.write("%d@%d.%06d:%s %s\n" % (threading.get_native_id(), sec, ns // 1000, event, fmt))

    def line(self, obj):
        if self.qmp is not None:
            self.qmp.write(json.dumps(obj) + "\n")

    def event(self, name, data=None, once=None):
        """A QMP event, stamped as QEMU does (qapi/qmp-event.c: g_get_real_time seconds + microseconds)."""
        if self.qmp is None or (once is not None and once in self.said):
            return
        if once is not None:
            self.said.add(once)
        now = time.time_ns()
        self.t0.setdefault(once or name, now)
        sec, ns = divmod(now, 1_000_000_000)
        e = {"timestamp": {"seconds": sec, "microseconds": ns // 1000}, "event": name}
        if data is not None:
            e["data"] = data
        self.line(e)


class Vmm:
    def __init__(self, qemu_io, qemu=None):
        self.journal = []
        self.qemu_io = qemu_io
        self.qemu = qemu or QemuOut(None, None)
        self.lock = threading.Lock()
        self.closed = set()  # fds the scenario closed (v2 data fds)

    def _log(self, **e):
        with self.lock:
            self.journal.append(e)

    # -- raw syscalls, journaled --------------------------------------------------
    def pread(self, fd, size, off):
        try:
            b = os.pread(fd, size, off)
        except OSError as e:
            self._log(op="pread", fd=fd, off=off, size=size, ret=-e.errno)
            return None
        v = hex(int.from_bytes(b[:8], "little")) if b else None  # hex: u64 exceeds JSON's exact range
        self._log(op="pread", fd=fd, off=off, size=size, ret=len(b), value=v)
        return b

    def pwrite(self, fd, data, off):
        v = hex(int.from_bytes(data[:8], "little"))
        try:
            n = os.pwrite(fd, data, off)
        except OSError as e:
            self._log(op="pwrite", fd=fd, off=off, size=len(data), value=v, ret=-e.errno)
            return -e.errno
        self._log(op="pwrite", fd=fd, off=off, size=len(data), value=v, ret=n)
        return n

    def ioctl(self, fd, cmd, arg):
        try:
            r = fcntl.ioctl(fd, cmd, arg)
        except OSError as e:
            self._log(op="ioctl", fd=fd, cmd=cmd, ret=-e.errno)
            return -e.errno
        self._log(op="ioctl", fd=fd, cmd=cmd, ret=r)  # int argument: r is the return value
        return r

    # -- QEMU hw/vfio/migration.c (v1) primitives ---------------------------------
    def rd_state(self, d):
        b = self.pread(d.fd, 4, d.region + OFF_DEVICE_STATE)
        return None if b is None or len(b) != 4 else struct.unpack("<I", b)[0]

    def wr_state(self, d, value, width=4):
        return self.pwrite(d.fd, (value & ((1 << (8 * width)) - 1)).to_bytes(width, "little"),
                           d.region + OFF_DEVICE_STATE)

    def rd_u64(self, d, off):
        b = self.pread(d.fd, 8, d.region + off)
        return None if b is None or len(b) != 8 else struct.unpack("<Q", b)[0]

    def set_state(self, d, mask, value):
        """vfio_migration_set_state (spec §3.3): pread, (old & mask) | value, pwrite."""
        cur = self.rd_state(d)
        if cur is None:
            return -errno.EIO
        new = ((cur & mask) | value) & U32
        if not valid(new):
            return -errno.EINVAL  # QEMU does not write an invalid state
        r = self.wr_state(d, new)
        if r < 0:
            back = self.rd_state(d)
            if back is None or (back & MASK) == 6:
                raise Abort("%s: Device in error state 0x%x" % (d.name, back or 0))
            return r
        # QEMU 7.2 hw/vfio/trace-events: vfio_migration_set_state(const char *name, uint32_t state) " (%s) state %d"
        self.qemu.trace("vfio_migration_set_state", " (%s) state %d" % (d.name, new))
        return 0

    def update_pending(self, d):
        return self.rd_u64(d, OFF_PENDING) or 0

    def save_buffer(self, d):
        """vfio_save_buffer: data_offset, data_size, then the data (§3.4)."""
        off = self.rd_u64(d, OFF_DATA_OFFSET)
        size = self.rd_u64(d, OFF_DATA_SIZE)
        if off is None or size is None:
            return 0
        if size:
            step = 8 if self.qemu_io else size
            for k in range(0, size, step):
                self.pread(d.fd, min(step, size - k), d.region + off + k)
        return size

    def load_buffer(self, d, chunk):
        """vfio_load_buffer for one chunk: data_offset, data writes, data_size (§3.4)."""
        off = self.rd_u64(d, OFF_DATA_OFFSET)
        if off is None:
            return -errno.EIO
        payload = (b"VFIOMIGR" * (chunk // 8 + 1))[:chunk]
        step = 8 if self.qemu_io else chunk
        for k in range(0, chunk, step):
            if self.pwrite(d.fd, payload[k:k + step], d.region + off + k) < 0:
                return -errno.EIO
        return self.pwrite(d.fd, struct.pack("<Q", chunk), d.region + OFF_DATA_SIZE)

    # -- QEMU's phases ------------------------------------------------------------
    def save_setup(self, d):
        if "migrate" not in self.qemu.said:
            self.qemu.said.add("migrate")
            self.qemu.line({"execute": "migrate", "arguments": {"uri": "unix:/tmp/migscope-lab.sock"}, "id": 1})
            self.qemu.line({"return": {}, "id": 1})
        self.qemu.event("MIGRATION", {"status": "setup"}, once="setup")
        r = self.set_state(d, MASK, SAVING)  # 001 -> 011; clears bits 3-31 (§3.3)
        self.qemu.event("MIGRATION", {"status": "active"}, once="active")
        return r

    def precopy(self, d, max_iter):
        pending = self.update_pending(d)
        n = 0
        while pending and n < max_iter:
            self.save_buffer(d)
            pending = self.update_pending(d)
            n += 1

    def vm_stop(self, d):
        self.qemu.event("STOP", once="stop")
        return self.set_state(d, ~RUNNING & U32, 0)  # 011 -> 010

    def complete_precopy(self, d, drain=True):
        r = self.set_state(d, ~RUNNING & U32, SAVING)  # -> 010 (usually already there)
        if r < 0:
            return r
        pending = self.update_pending(d)
        while pending:
            if not self.save_buffer(d):
                break  # data_size == 0: QEMU gives up on this device
            pending = self.update_pending(d)
            if not drain:
                break  # scenario stopcopy-pending-left: a VMM that stops early
        r = self.set_state(d, ~SAVING & U32, 0)  # 010 -> 000
        self.qemu.event("MIGRATION", {"status": "completed"}, once="completed")
        return r

    def query_migrate(self):
        """The client's query-migrate after completion: QEMU's figures (ms), as measured here."""
        t = self.qemu.t0
        if self.qemu.qmp is None or "completed" not in t or "setup" not in t:
            return
        ms = lambda a, b: (t[b] - t[a]) // 1_000_000
        self.qemu.line({"execute": "query-migrate", "id": 2})
        ret = {"status": "completed", "total-time": ms("setup", "completed"), "setup-time": ms("setup", "active") if "active" in t else 0}
        if "stop" in t:
            ret["downtime"] = ms("stop", "completed")
        self.qemu.line({"return": ret, "id": 2})

    def recover_running(self, d):
        """migration state notifier on failure: -> 001 (§3.3 last row)."""
        return self.set_state(d, ~(SAVING | RESUMING) & U32, RUNNING)

    def vm_start(self, d):
        return self.set_state(d, ~MASK & U32, RUNNING)


    # -- QEMU 8.x hw/vfio/migration.c (v2) primitives (spec §5.6) ---------------------
    def feature(self, d, flags, payload=b"", argsz=None):
        buf = struct.pack("<II", argsz if argsz is not None else 8 + len(payload), flags) + payload
        return ioctl_int_ret(self, d.fd, VFIO_DEVICE_FEATURE, buf)

    def v2_flags(self, d):
        ret, raw = self.feature(d, FEATURE_GET | FEATURE_MIGRATION, bytes(8))
        return struct.unpack_from("<Q", raw, 8)[0] if ret == 0 else None

    def v2_data_size(self, d):
        ret, raw = self.feature(d, FEATURE_GET | FEATURE_MIG_DATA_SIZE, bytes(8))
        return struct.unpack_from("<Q", raw, 8)[0] if ret == 0 else None

    def v2_get(self, d):
        ret, raw = self.feature(d, FEATURE_GET | FEATURE_MIG_DEVICE_STATE, struct.pack("<Ii", 0, -1))
        return struct.unpack_from("<I", raw, 8)[0] if ret == 0 else None

    def v2_set(self, d, state, recover=V2_ERROR):
        """SET MIG_DEVICE_STATE; keeps a returned data_fd as QEMU does (or reports it out of sync)."""
        # QEMU 8.1 hw/vfio/trace-events, traced before the ioctl: vfio_migration_set_state(const char
        # *name, const char *new_state, const char *recover_state) " (%s) new state %s, recover state %s"
        self.qemu.trace("vfio_migration_set_state", " (%s) new state %s, recover state %s" % (d.name, V2_NAMES[state], V2_NAMES[recover]))
        ret, raw = self.feature(d, FEATURE_SET | FEATURE_MIG_DEVICE_STATE, struct.pack("<Ii", state, -1))
        if ret < 0:
            return ret
        fd = struct.unpack_from("<i", raw, 12)[0]
        if fd != -1:
            if d.data_fd != -1:
                self.close(fd)  # "data_fd out of sync"
                return -errno.EBADF
            d.data_fd = fd
        return 0

    def close(self, fd):
        os.close(fd)
        self.closed.add(fd)
        self._log(op="close", fd=fd, ret=0)

    def close_data(self, d):
        if d.data_fd != -1:
            self.close(d.data_fd)
            d.data_fd = -1

    def precopy_info(self, fd):
        ret, raw = ioctl_int_ret(self, fd, VFIO_MIG_GET_PRECOPY_INFO, struct.pack("<IIQQ", 24, 0, 0, 0))
        return struct.unpack_from("<QQ", raw, 8) if ret == 0 else None

    def read(self, fd, n):
        try:
            b = os.read(fd, n)
        except OSError as e:
            self._log(op="read", fd=fd, size=n, ret=-e.errno)
            return -e.errno
        self._log(op="read", fd=fd, size=n, ret=len(b))
        return len(b)

    def write(self, fd, data):
        try:
            n = os.write(fd, data)
        except OSError as e:
            self._log(op="write", fd=fd, size=len(data), ret=-e.errno)
            return -e.errno
        self._log(op="write", fd=fd, size=len(data), ret=n)
        return n

    def save_iterate(self, d):
        """save_live_iterate: read until ENOMSG (no data for now) or an error."""
        while self.read(d.data_fd, READ_SIZE) > 0:
            pass

    def pending_exact(self, d):
        """QEMU 8.1 vfio_state_pending_exact: the stop-copy size (vfio_query_stop_copy_size:
        MIG_DATA_SIZE, 100 GiB when it fails) and, in PRE_COPY, the pre-copy size
        (vfio_query_precopy_size: PRECOPY_INFO). Returns initial + dirty bytes left."""
        size = self.v2_data_size(d)
        stop = size if size is not None else VFIO_MIG_STOP_COPY_SIZE
        info = self.precopy_info(d.data_fd) or (0, 0)
        # QEMU 8.1 hw/vfio/trace-events: vfio_state_pending_exact(const char *name, uint64_t precopy,
        # uint64_t postcopy, uint64_t stopcopy_size, uint64_t precopy_init_size, uint64_t precopy_dirty_size)
        self.qemu.trace("vfio_state_pending_exact",
                        " (%s) precopy 0x%x postcopy 0x0 stopcopy size 0x%x precopy initial size 0x%x precopy dirty size 0x%x"
                        % (d.name, stop + info[0] + info[1], stop, info[0], info[1]))
        return info[0] + info[1]

    def v2_precopy(self, d, max_iter):
        """QEMU 8.1's migration loop for one device: the exact pending query, then one
        vfio_save_iterate (one read of the data_fd), until nothing is left in pre-copy or
        max_iter iterations ran; the last query is made right before the switchover."""
        n = 0
        while self.pending_exact(d) and n < max_iter:
            self.read(d.data_fd, READ_SIZE)
            n += 1

    def save_complete(self, d, drain=True):
        """save_live_complete_precopy: read until read() returns 0 (end of stream)."""
        while True:
            n = self.read(d.data_fd, READ_SIZE)
            if n <= 0 or not drain:
                return n


# ---- discovery (main thread) -----------------------------------------------------------

def ioctl_int_ret(vmm, fd, cmd, buf):
    """ioctl through libc so that both the return value and the filled buffer come back."""
    cbuf = ctypes.create_string_buffer(bytes(buf), len(buf))
    r = _libc.ioctl(fd, ctypes.c_ulong(cmd), cbuf)
    ret = r if r >= 0 else -ctypes.get_errno()
    vmm._log(op="ioctl", fd=fd, cmd=cmd, ret=ret)
    return ret, cbuf.raw


def probe(vmm, d):
    """vfio_get_dev_region_info (§3.1): every index, argsz 32 then the size asked for."""
    ret, raw = ioctl_int_ret(vmm, d.fd, VFIO_DEVICE_GET_INFO, struct.pack("<IIIIII", 24, 0, 0, 0, 0, 0))
    num_regions = struct.unpack_from("<I", raw, 8)[0] if ret == 0 else 10
    for index in range(num_regions):
        ret, raw = ioctl_int_ret(vmm, d.fd, VFIO_DEVICE_GET_REGION_INFO, struct.pack("<IIIIQQ", 32, 0, index, 0, 0, 0))
        if ret < 0:
            continue
        argsz = struct.unpack_from("<I", raw, 0)[0]
        if argsz > 32:
            ret, raw = ioctl_int_ret(vmm, d.fd, VFIO_DEVICE_GET_REGION_INFO,
                                     struct.pack("<IIIIQQ", argsz, 0, index, 0, 0, 0) + bytes(argsz - 32))
        _argsz, flags, _idx, cap_off, size, offset = struct.unpack_from("<IIIIQQ", raw, 0)
        while flags & 8 and cap_off and cap_off + 8 <= len(raw):
            cid, _ver, nxt = struct.unpack_from("<HHI", raw, cap_off)
            if cid == 2 and struct.unpack_from("<II", raw, cap_off + 8) == (3, 1):
                d.region, d.region_size = offset, size
                # QEMU 7.2 hw/vfio/trace-events: vfio_migration_probe(const char *name, uint32_t index) " (%s) Region %d"
                vmm.qemu.trace("vfio_migration_probe", " (%s) Region %d" % (d.name, index))
            cap_off = nxt
    if d.region is None:
        raise SystemExit("%s: no migration region found" % d.name)


# ---- scenarios (names match scenarios.json) -------------------------------------------

def sc_clean_live_migration(vmm, devs):
    d = devs[0]
    vmm.save_setup(d)
    vmm.precopy(d, 2)
    vmm.vm_stop(d)
    vmm.complete_precopy(d)


def sc_save_suspend(vmm, devs):
    d = devs[0]
    vmm.set_state(d, ~RUNNING & U32, SAVING)  # savevm: 001 -> 010 (§3.3)
    vmm.complete_precopy(d)


def sc_resume(vmm, devs):
    d = devs[0]
    vmm.set_state(d, ~MASK & U32, RESUMING)  # load_setup: 001 -> 100
    for chunk in (0x2000, 0x1800):
        vmm.load_buffer(d, chunk)
    vmm.vm_start(d)  # 100 -> 001


def sc_precopy_stopcopy_fail_recover(vmm, devs):
    d = devs[0]
    vmm.save_setup(d)
    vmm.precopy(d, 2)
    if vmm.vm_stop(d) < 0:  # refused; read-back shows pre-copy (011)
        vmm.recover_running(d)  # 011 -> 001
        vmm.vm_start(d)  # VM continues: 001 written again


def sc_error_state_reset(vmm, devs):
    d = devs[0]
    vmm.save_setup(d)
    vmm.precopy(d, 1)
    try:
        vmm.vm_stop(d)
    except Abort:
        # QEMU v1 would abort here; this VMM recovers with a reset as the header says
        vmm.ioctl(d.fd, VFIO_DEVICE_RESET, 0)
        vmm.rd_state(d)  # reads 001


def sc_reserved_state_101(vmm, devs):
    d = devs[0]
    cur = vmm.rd_state(d)
    vmm.wr_state(d, (cur & ~MASK & U32) | RUNNING | RESUMING)  # 101b, no VALID check
    vmm.rd_state(d)
    vmm.vm_start(d)  # back to 001


def sc_reserved_state_101_rejected(vmm, devs):
    d = devs[0]
    cur = vmm.rd_state(d)
    if vmm.wr_state(d, (cur & ~MASK & U32) | RUNNING | RESUMING) < 0:
        vmm.rd_state(d)  # read back after the failure: still 001


def sc_rmw_reserved_bits(vmm, devs):
    sc_clean_live_migration(vmm, devs)  # the driver reports bit 3; save_setup drops it


def sc_state_write_2byte(vmm, devs):
    d = devs[0]
    cur = vmm.rd_state(d)
    if vmm.wr_state(d, (cur & MASK) | SAVING, width=2) < 0:  # a u16 write of 011b
        vmm.rd_state(d)
        vmm.wr_state(d, (cur & MASK) | SAVING)  # then the proper 4-byte write
    vmm.recover_running(d)  # migration cancelled: 011 -> 001


def sc_stopcopy_pending_left(vmm, devs):
    d = devs[0]
    vmm.save_setup(d)
    vmm.precopy(d, 1)
    vmm.vm_stop(d)
    vmm.complete_precopy(d, drain=False)


def sc_precopy_converges(vmm, devs):
    d = devs[0]
    vmm.save_setup(d)
    vmm.precopy(d, 16)  # iterate until pending_bytes reads 0
    vmm.vm_stop(d)
    vmm.complete_precopy(d)


def sc_precopy_grows(vmm, devs):
    d = devs[0]
    vmm.save_setup(d)
    vmm.precopy(d, 5)  # the driver dirties more than each buffer hands over: QEMU gives up after 5
    vmm.vm_stop(d)
    vmm.complete_precopy(d)


def sc_early_switchover(vmm, devs):
    d = devs[0]
    vmm.save_setup(d)
    vmm.precopy(d, 1)  # one buffer of a 1 MiB pre-copy, then the VM is stopped
    vmm.vm_stop(d)
    vmm.complete_precopy(d)


def sc_stopcopy_empty_iter(vmm, devs):
    sc_clean_live_migration(vmm, devs)  # the driver reports data_size 0 in 010


def sc_two_devices_one_fails(vmm, devs):
    a, b = devs[0], devs[1]
    for d in (a, b):
        vmm.save_setup(d)
    for d in (a, b):
        vmm.precopy(d, 1)
    vmm.vm_stop(a)  # 011 -> 010
    if vmm.vm_stop(b) < 0:  # refused, reads back 011
        vmm.recover_running(b)  # only the failing device is taken back; a stays in 010


# ---- protocol v2 scenarios (QEMU 8.x flows, spec §5.6) ----------------------------------

def sc_v2_clean_live_migration(vmm, devs):
    d = devs[0]
    vmm.v2_flags(d)
    vmm.v2_data_size(d)  # save_setup sizes its buffer
    vmm.v2_set(d, V2_PRE_COPY)  # RUNNING -> PRE_COPY returns the data_fd
    vmm.precopy_info(d.data_fd)
    vmm.save_iterate(d)
    vmm.precopy_info(d.data_fd)
    vmm.v2_set(d, V2_PRE_COPY_P2P)  # VM stop, P2P prepare step
    vmm.v2_set(d, V2_STOP_COPY)
    vmm.save_complete(d)
    vmm.v2_set(d, V2_STOP)  # save_cleanup
    vmm.close_data(d)


def v2_live_migration(vmm, d, max_iter):
    """QEMU 8.1 live migration of a PRE_COPY|P2P device, iterating as v2_precopy does."""
    vmm.v2_flags(d)
    vmm.v2_data_size(d)  # save_setup sizes its buffer
    vmm.v2_set(d, V2_PRE_COPY, recover=V2_RUNNING)
    vmm.v2_precopy(d, max_iter)
    vmm.v2_set(d, V2_PRE_COPY_P2P)  # VM stop, P2P prepare step
    vmm.v2_set(d, V2_STOP_COPY)
    vmm.save_complete(d)
    vmm.v2_set(d, V2_STOP)
    vmm.close_data(d)


def sc_v2_precopy_converges(vmm, devs):
    v2_live_migration(vmm, devs[0], 16)  # until PRECOPY_INFO shows nothing left


def sc_v2_precopy_grows(vmm, devs):
    v2_live_migration(vmm, devs[0], 5)  # dirty_bytes outgrow every read: QEMU gives up after 5


def sc_v2_early_switchover(vmm, devs):
    v2_live_migration(vmm, devs[0], 1)  # one read of a 1 MiB pre-copy, then the VM is stopped


def sc_v2_stopcopy_size_unknown(vmm, devs):
    # MIG_DATA_SIZE fails every time: QEMU takes 100 GiB as the stop-copy size, so by its
    # own test it never converges; the lab's management switches over once pre-copy is empty
    v2_live_migration(vmm, devs[0], 16)


def sc_v2_stop_copy(vmm, devs):
    d = devs[0]
    vmm.v2_flags(d)
    vmm.v2_data_size(d)
    vmm.v2_set(d, V2_STOP)  # VM stop (no pre-copy)
    vmm.v2_set(d, V2_STOP_COPY)  # save_live_complete_precopy: STOP -> STOP_COPY returns the data_fd
    vmm.save_complete(d)
    vmm.v2_set(d, V2_STOP)
    vmm.close_data(d)


def sc_v2_stopcopy_not_drained(vmm, devs):
    d = devs[0]
    vmm.v2_flags(d)
    vmm.v2_set(d, V2_STOP)
    vmm.v2_set(d, V2_STOP_COPY)
    vmm.save_complete(d, drain=False)  # one read, then gives up
    vmm.v2_set(d, V2_STOP)
    vmm.close_data(d)


def sc_v2_resume(vmm, devs):
    d = devs[0]
    vmm.v2_flags(d)
    vmm.v2_set(d, V2_RESUMING)  # load_setup: RUNNING › RUNNING_P2P › STOP › RESUMING
    for n in (0x2000, 0x2000, 0x2000, 0x3000):
        vmm.write(d.data_fd, (b"VFIOMIG2" * (n // 8 + 1))[:n])
    vmm.v2_set(d, V2_RUNNING_P2P)  # VM start, P2P first: RESUMING › STOP › RUNNING_P2P
    vmm.close_data(d)  # load_cleanup
    vmm.v2_set(d, V2_RUNNING)


def sc_v2_unsupported_state(vmm, devs):
    d = devs[0]
    vmm.v2_flags(d)  # STOP_COPY only
    vmm.v2_set(d, V2_RUNNING_P2P)  # not enabled by the flags: EINVAL
    vmm.v2_get(d)  # still RUNNING


def sc_v2_error_reset(vmm, devs):
    d = devs[0]
    vmm.v2_flags(d)
    vmm.v2_set(d, V2_STOP)
    if vmm.v2_set(d, V2_STOP_COPY) < 0:  # the driver fails the arc and goes to ERROR
        if vmm.v2_get(d) == V2_ERROR:
            vmm.ioctl(d.fd, VFIO_DEVICE_RESET, 0)  # only a reset leaves ERROR
        vmm.v2_get(d)  # RUNNING again


def sc_v2_blocked_arc(vmm, devs):
    d = devs[0]
    vmm.v2_flags(d)
    vmm.v2_set(d, V2_PRE_COPY)
    vmm.save_iterate(d)
    vmm.v2_set(d, V2_STOP_COPY)  # PRE_COPY › PRE_COPY_P2P › STOP_COPY, same data_fd
    vmm.save_complete(d)
    vmm.v2_set(d, V2_PRE_COPY)  # blocked arc: EINVAL (on a fixed kernel)
    vmm.v2_set(d, V2_STOP)
    vmm.close_data(d)


def sc_v1_v2_mixed(vmm, devs):
    v1 = next(d for d in devs if not d.v2)
    v2 = next(d for d in devs if d.v2)
    vmm.v2_flags(v2)
    vmm.set_state(v1, ~RUNNING & U32, SAVING)  # v1 savevm: 001 -> 010
    vmm.v2_set(v2, V2_STOP)
    vmm.v2_set(v2, V2_STOP_COPY)
    vmm.complete_precopy(v1)  # v1 drains and goes to 000
    vmm.save_complete(v2)
    vmm.v2_set(v2, V2_STOP)
    vmm.close_data(v2)


SCENARIOS = {
    "clean-live-migration": sc_clean_live_migration,
    "precopy-converges": sc_precopy_converges,
    "precopy-grows": sc_precopy_grows,
    "early-switchover": sc_early_switchover,
    "save-suspend": sc_save_suspend,
    "resume": sc_resume,
    "precopy-stopcopy-fail-recover": sc_precopy_stopcopy_fail_recover,
    "error-state-reset": sc_error_state_reset,
    "reserved-state-101": sc_reserved_state_101,
    "reserved-state-101-rejected": sc_reserved_state_101_rejected,
    "rmw-reserved-bits": sc_rmw_reserved_bits,
    "state-write-2byte": sc_state_write_2byte,
    "stopcopy-pending-left": sc_stopcopy_pending_left,
    "stopcopy-empty-iter": sc_stopcopy_empty_iter,
    "two-devices-one-fails": sc_two_devices_one_fails,
    "v2-clean-live-migration": sc_v2_clean_live_migration,
    "v2-stop-copy": sc_v2_stop_copy,
    "v2-stopcopy-not-drained": sc_v2_stopcopy_not_drained,
    "v2-resume": sc_v2_resume,
    "v2-unsupported-state": sc_v2_unsupported_state,
    "v2-error-reset": sc_v2_error_reset,
    "v2-blocked-arc": sc_v2_blocked_arc,
    "v1-v2-mixed": sc_v1_v2_mixed,
    "v2-precopy-converges": sc_v2_precopy_converges,
    "v2-precopy-grows": sc_v2_precopy_grows,
    "v2-early-switchover": sc_v2_early_switchover,
    "v2-stopcopy-size-unknown": sc_v2_stopcopy_size_unknown,
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mount", required=True, help="where vfio_fuse.py is mounted")
    ap.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    ap.add_argument("--scenarios", default=os.path.join(here, "scenarios.json"))
    ap.add_argument("--wait-go", action="store_true")
    ap.add_argument("--journal")
    ap.add_argument("--qemu-io", action="store_true")
    ap.add_argument("--qemu-log")
    ap.add_argument("--qmp-log")
    ap.add_argument("--early-open", action="store_true")
    args = ap.parse_args()

    with open(args.scenarios) as f:
        spec = next(s for s in json.load(f)["scenarios"] if s["name"] == args.scenario)
    names = [d["name"] for d in spec["devices"]]
    v2 = {d["name"] for d in spec["devices"] if d.get("driver", {}).get("protocol") == "v2"}

    # The device fds exist before the trace starts: the daemon hands these very fds out as
    # the return value of VFIO_GROUP_GET_DEVICE_FD (README.md, "Device fds"). Likewise the
    # data fds of v2 devices, handed out as the data_fd of a MIG_DEVICE_STATE SET.
    pre = [os.open(os.path.join(args.mount, n), os.O_RDWR) for n in names]
    pre_data = [os.open(os.path.join(args.mount, "%s.data%d" % (n, k)), os.O_RDWR)
                for n in names if n in v2 for k in range(DATA_FILES_PER_DEVICE)]

    def wait_go():
        if args.wait_go:
            sys.stdout.write("ready pid=%d\n" % os.getpid())
            sys.stdout.flush()
            sys.stdin.readline()

    if not args.early_open:
        wait_go()
    vmm = Vmm(args.qemu_io, QemuOut(args.qemu_log, args.qmp_log))
    set_comm("qemu-system-x86")
    group = os.open(os.path.join(args.mount, "group"), os.O_RDWR)
    devs = []
    for n in names:
        ret, _ = ioctl_int_ret(vmm, group, VFIO_GROUP_GET_DEVICE_FD, n.encode() + b"\0")
        vmm.journal[-1]["name"] = n
        if ret < 0:
            raise SystemExit("GET_DEVICE_FD %s: errno %d" % (n, -ret))
        devs.append(Dev(n, ret, v2=n in v2))
    for d in devs:
        if not d.v2:
            probe(vmm, d)  # v1: find the migration region; v2 devices have none
    if args.early_open:
        wait_go()

    failure = []

    def migration():
        set_comm("live_migration")
        try:
            SCENARIOS[args.scenario](vmm, devs)
        except Abort as e:
            failure.append(str(e))

    t = threading.Thread(target=migration, name="live_migration")
    t.start()
    t.join()
    vmm.query_migrate()
    os.close(group)
    for fd in pre + [fd for fd in pre_data if fd not in vmm.closed]:
        os.close(fd)
    if args.journal:
        with open(args.journal, "w") as f:
            for e in vmm.journal:
                f.write(json.dumps(e) + "\n")
    if failure:
        print("aborted: %s" % failure[0], file=sys.stderr)
        sys.exit(3)


if __name__ == "__main__":
    main()
