#!/usr/bin/python3
"""Several lab scenarios, one after another, in ONE process (one VMM that migrates devices
several times), for `migscope watch --pid` tests and the watch-latency bench.

    lab-runner.py --run MOUNT:SCENARIO [--run MOUNT:SCENARIO ...] [--wait-go] [--wait-each] [--wait-end] [--hold S] [--stamp] [--journal FILE]

Each MOUNT is a vfio_fuse.py mount serving SCENARIO (capture/lab/README.md). Every run does
what capture/lab/workload.py does for one scenario (GET_DEVICE_FD, region probe, the
scenario on a thread named live_migration), then closes its group and device fds before
the next run starts. All device and data fds are opened before "ready" (as workload.py
--wait-go does), so a tracer attached with --pid sees only GET_DEVICE_FD name them.

--hold S   sleep S seconds after each syscall that shows something new about a device, so
           that a Prometheus scraping every second sees every value (the lab is otherwise
           far faster than any scrape interval): the device named (v1: after its region
           probe; v2: after its first VFIO_DEVICE_FEATURE, when a tracer can tell its
           protocol), a state it was not in before (a state read, a successful state
           write, a v2 SET or GET), a pending-bytes value other than the last one (v1
           pending_bytes read, v2 PRECOPY_INFO initial + dirty)
--journal  write every run's syscalls (workload.py's journal format, one JSON object per
           line) to FILE after the last run, before "finished"
--wait-each before each run after the first, print "next SCENARIO" and wait for a line on
           stdin (a test can act between two migrations of one VMM)
--wait-end after the last run, print "finished" and wait for a line on stdin before exiting
           (a test can query what the tracer saw while the traced process still lives)
--load MOUNT:RATE  background load while the runs go: threads (comm "vfio_poll") of the same
           process names the first device of MOUNT (GET_DEVICE_FD, region probe) and then reads
           its device_state (a 4-byte pread64 of the migration region) RATE times a second
           until the last run ends, paced every 10 ms; a read of the state a device is in is
           legal in any state, so the load adds syscalls for the tracer and migscope to carry,
           and no finding. After the runs: {"load": {"reads": N, "seconds": S}} on stdout
--stamp    after every syscall of a scenario, print one JSON line on stdout: the journal
           entry plus "stamp" (CLOCK_REALTIME ns) and "mono" (CLOCK_MONOTONIC ns, the
           clock of the trace and of node's process.hrtime): the bench's "event happened"
"""
import argparse
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "capture", "lab"))
import workload as wl  # noqa: E402  (capture/lab/workload.py: the VMM's sequences)


class LabVmm(wl.Vmm):
    def __init__(self, qemu_io, hold, stamp):
        super().__init__(qemu_io)
        self.hold = hold
        self.stamp = stamp
        self.seen = {}
        self.devs = []
        self.named_fds = set()

    def _log(self, **e):
        super()._log(**e)
        if self.stamp:
            # right after the syscall returned: the time the event happened, as the VMM saw it
            sys.stdout.write(json.dumps(dict(e, stamp=time.time_ns(), mono=time.monotonic_ns())) + "\n")
            sys.stdout.flush()

    def _saw(self, d, what, value):
        if value is None or self.seen.get((d.fd, what)) == value:
            return
        self.seen[(d.fd, what)] = value
        if self.hold > 0:
            time.sleep(self.hold)

    def named(self, d):
        """The device is open and its protocol shown: its default state, RUNNING (v1 001b, v2 2)."""
        if d.fd not in self.named_fds:
            self.named_fds.add(d.fd)
            self._saw(d, "state", 2 if d.v2 else 1)

    def update_pending(self, d):
        v = super().update_pending(d)
        self._saw(d, "pending", v)
        return v

    def precopy_info(self, fd):
        r = super().precopy_info(fd)
        d = next((x for x in self.devs if x.data_fd == fd), None)
        if r is not None and d is not None:
            self._saw(d, "pending", r[0] + r[1])
        return r

    def feature(self, d, flags, payload=b"", argsz=None):
        r = super().feature(d, flags, payload, argsz)
        self.named(d)
        return r

    def rd_state(self, d):
        v = super().rd_state(d)
        self._saw(d, "state", v)
        return v

    def wr_state(self, d, value, width=4):
        r = super().wr_state(d, value, width)
        if r >= 0 and width == 4:
            self._saw(d, "state", value & wl.U32)
        return r

    def v2_set(self, d, state):
        r = super().v2_set(d, state)
        if r == 0:
            self._saw(d, "state", state)
        return r

    def v2_get(self, d):
        v = super().v2_get(d)
        self._saw(d, "state", v)
        return v


class Load:
    """--load: device_state reads at a fixed rate on a device that does not migrate.

    Split over one thread per 5,000 reads a second: one traced thread alone falls short of
    10,000 here (each read is a FUSE round trip to the daemon while bpftrace probes it); the
    reads release the GIL, so threads overlap in them."""

    def __init__(self, mount, rate):
        self.mount, self.rate = mount, rate
        # Opened before "ready", as every device fd here: GET_DEVICE_FD hands it over (vfio_fuse.py).
        self.name = sorted(n for n in os.listdir(mount) if n != "group" and ".data" not in n)[0]
        self.pre = os.open(os.path.join(mount, self.name), os.O_RDWR)
        self.stop = threading.Event()
        self.counts = []
        self.seconds = 0.0
        self.error = None
        self.thread = threading.Thread(target=self.run, name="vfio_poll", daemon=True)

    @property
    def reads(self):
        return sum(self.counts)

    def run(self):
        wl.set_comm("vfio_poll")
        try:
            quiet = wl.Vmm(False)
            group = os.open(os.path.join(self.mount, "group"), os.O_RDWR)
            ret, _ = wl.ioctl_int_ret(quiet, group, wl.VFIO_GROUP_GET_DEVICE_FD, self.name.encode() + b"\0")
            if ret < 0:
                raise RuntimeError("GET_DEVICE_FD %s: errno %d" % (self.name, -ret))
            d = wl.Dev(self.name, ret)
            wl.probe(quiet, d)
            n = max(1, self.rate // 5000)
            self.counts = [0] * n
            start = time.monotonic()
            workers = [threading.Thread(target=self.poll, args=(d, i, self.rate / n, start), daemon=True) for i in range(n)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            self.seconds = time.monotonic() - start
        except Exception as e:  # reported after the runs, never silently
            self.error = str(e)

    def poll(self, d, i, rate, start):
        wl.set_comm("vfio_poll")
        per_tick = max(1, int(rate // 100))
        tick = start
        while not self.stop.is_set():
            for _ in range(per_tick):
                os.pread(d.fd, 4, d.region + wl.OFF_DEVICE_STATE)
            self.counts[i] += per_tick
            tick += per_tick / rate
            lag = tick - time.monotonic()
            if lag > 0:
                time.sleep(lag)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", action="append", required=True, metavar="MOUNT:SCENARIO")
    ap.add_argument("--scenarios", default=os.path.join(HERE, "..", "..", "capture", "lab", "scenarios.json"))
    ap.add_argument("--wait-go", action="store_true")
    ap.add_argument("--wait-each", action="store_true")
    ap.add_argument("--wait-end", action="store_true")
    ap.add_argument("--journal")
    ap.add_argument("--hold", type=float, default=0.0)
    ap.add_argument("--stamp", action="store_true")
    ap.add_argument("--qemu-io", action="store_true")
    ap.add_argument("--load", metavar="MOUNT:RATE")
    args = ap.parse_args()

    with open(args.scenarios) as f:
        specs = {s["name"]: s for s in json.load(f)["scenarios"]}
    runs = []
    for r in args.run:
        mount, _, name = r.rpartition(":")
        if name not in wl.SCENARIOS or name not in specs or not mount:
            raise SystemExit("bad --run %r" % r)
        spec = specs[name]
        names = [d["name"] for d in spec["devices"]]
        v2 = {d["name"] for d in spec["devices"] if d.get("driver", {}).get("protocol") == "v2"}
        pre = [os.open(os.path.join(mount, n), os.O_RDWR) for n in names]
        pre_data = [os.open(os.path.join(mount, "%s.data%d" % (n, k)), os.O_RDWR)
                    for n in names if n in v2 for k in range(wl.DATA_FILES_PER_DEVICE)]
        runs.append((mount, name, names, v2, pre, pre_data))
    load = None
    if args.load:
        lmount, _, lrate = args.load.rpartition(":")
        if not lmount or not lrate.isdigit() or int(lrate) <= 0:
            raise SystemExit("bad --load %r" % args.load)
        load = Load(lmount, int(lrate))
    if args.wait_go:
        sys.stdout.write("ready pid=%d\n" % os.getpid())
        sys.stdout.flush()
        sys.stdin.readline()

    wl.set_comm("qemu-system-x86")
    if load is not None:
        load.thread.start()
    status = 0
    journal = []
    for i, (mount, name, names, v2, pre, pre_data) in enumerate(runs):
        if args.wait_each and i > 0:
            sys.stdout.write("next %s\n" % name)
            sys.stdout.flush()
            sys.stdin.readline()
        vmm = LabVmm(args.qemu_io, args.hold, args.stamp)
        group = os.open(os.path.join(mount, "group"), os.O_RDWR)
        devs = []
        for n in names:
            ret, _ = wl.ioctl_int_ret(vmm, group, wl.VFIO_GROUP_GET_DEVICE_FD, n.encode() + b"\0")
            if ret < 0:
                raise SystemExit("%s: GET_DEVICE_FD %s: errno %d" % (name, n, -ret))
            devs.append(wl.Dev(n, ret, v2=n in v2))
        vmm.devs = devs
        for d in devs:
            if not d.v2:
                wl.probe(vmm, d)
                vmm.named(d)
        failure = []

        def migration():
            wl.set_comm("live_migration")
            try:
                wl.SCENARIOS[name](vmm, devs)
            except wl.Abort as e:
                failure.append(str(e))

        t = threading.Thread(target=migration, name="live_migration")
        t.start()
        t.join()
        os.close(group)
        for fd in pre + [fd for fd in pre_data if fd not in vmm.closed]:
            os.close(fd)
        journal.extend(vmm.journal)
        if failure:
            sys.stderr.write("%s: aborted: %s\n" % (name, failure[0]))
            status = 3
        sys.stdout.write(json.dumps({"done": name}) + "\n")
        sys.stdout.flush()
    if load is not None:
        load.stop.set()
        load.thread.join()
        sys.stdout.write(json.dumps({"load": {"reads": load.reads, "seconds": round(load.seconds, 3), "error": load.error}}) + "\n")
        sys.stdout.flush()
        if load.error:
            sys.stderr.write("load: %s\n" % load.error)
            status = status or 4
    if args.journal:
        with open(args.journal, "w") as f:
            for e in journal:
                f.write(json.dumps(e) + "\n")
    if args.wait_end:
        sys.stdout.write("finished\n")
        sys.stdout.flush()
        sys.stdin.readline()
    sys.exit(status)


if __name__ == "__main__":
    main()
