// The V2-* rules (spec §6.2): each fires on a breaking op sequence, is quiet on a clean
// one, and is quiet when the values it needs were not seen.

import { describe, expect, it } from 'vitest';
import { checkOps, createOpsChecker, type CheckerOptions } from '../../src/check/index.js';
import { MAX_PENDING } from '../../src/check/rules/v2-blocked-arc.js';
import { V2_RULES } from '../../src/check/rules/index.js';
import type { Finding } from '../../src/check/types.js';
import type { ProtocolOp } from '../../src/decode/ops.js';
import { trace } from './ops-builder.js';
import { cleanResume, cleanSave, F, S, v2Trace, type V2Trace } from './v2-ops-builder.js';

const EINVAL = 22;
const EIO = 5;
const ENOMSG = 42;
const ENOTTY = 25;

function check(ops: readonly ProtocolOp[], opts: Omit<CheckerOptions, 'onFinding'> = {}): Finding[] {
  return checkOps(ops, opts);
}
const only = (fs: readonly Finding[], rule: string) => fs.filter((f) => f.rule === rule);
const blames = (fs: readonly Finding[], rule: string) => only(fs, rule).map((f) => `${f.blame}/${f.severity}`);
const lines = (f: Finding | undefined) => f?.evidence.map((e) => e.src.line) ?? [];

function opened(t: V2Trace, flags: number | undefined = F.ALL, id = 'dev') {
  const d = t.device(id);
  d.open();
  if (flags !== undefined) d.flags(flags);
  return d;
}

describe('clean v2 traces have no findings', () => {
  it('a save with PRE_COPY and P2P, a resume, a stop-copy save, one process with both', () => {
    const t = v2Trace();
    cleanSave(t, 'a');
    expect(check(t.ops)).toEqual([]);
    const r = v2Trace();
    cleanResume(r, 'b');
    expect(check(r.ops)).toEqual([]);
    const sc = v2Trace();
    const d = opened(sc, F.STOP_COPY);
    d.set(S.STOP_COPY, { session: 1 });
    d.read(1, 0x1000);
    d.read(1, 0);
    d.set(S.STOP);
    d.closeData(1);
    d.set(S.RUNNING);
    d.close();
    expect(check(sc.ops)).toEqual([]);
  });

  it('every V2 rule is registered with its catalogue entry', () => {
    expect(V2_RULES.map((r) => r.id)).toEqual([
      'V2-FEATURE-ARGS',
      'V2-MIG-CAPS',
      'V2-STATE-RANGE',
      'V2-UNSUPPORTED',
      'V2-BLOCKED-ARC',
      'V2-ARC',
      'V2-FAIL-STATE',
      'V2-ERROR-EXIT',
      'V2-ASYNC',
      'V2-DATAFD',
      'V2-SESSION-END',
      'V2-FD-DIRECTION',
      'V2-ENOMSG',
      'V2-SAVE-DRAIN',
      'V2-PRECOPY-INFO',
      'V2-RESUME-ABORT',
      'V2-FAIL-RECOVER',
      'V2-P2P-ORDER',
      'V2-STOPPED-ACCESS',
      'V2-STREAM-BYTES',
    ]);
    for (const r of V2_RULES) expect(r.description.length + r.specRef.length + r.uncertainWhen.length, r.id).toBeGreaterThan(60);
  });
});

describe('V2-FEATURE-ARGS', () => {
  it('fires a VMM error for a short argsz, and a driver error when it succeeds', () => {
    const t = v2Trace();
    const d = opened(t);
    const l = d.set(S.STOP, { argsz: 12 });
    expect(blames(check(t.ops), 'V2-FEATURE-ARGS')).toEqual(['vmm/error', 'driver/error']);
    expect(lines(only(check(t.ops), 'V2-FEATURE-ARGS')[0])).toEqual([l]);
  });
  it('blames only the VMM for GET|SET without PROBE refused with EINVAL', () => {
    const t = v2Trace();
    opened(t).feature({ argsz: 16, flags: (1 << 16) | (1 << 17) | 2 }, { errno: EINVAL });
    expect(blames(check(t.ops), 'V2-FEATURE-ARGS')).toEqual(['vmm/error']);
  });
  it('is quiet on well-formed calls and on calls whose struct was not seen', () => {
    const t = v2Trace();
    const d = opened(t);
    d.feature({ argsz: 8, flags: (1 << 18) | 6 });
    d.unseen();
    expect(only(check(t.ops), 'V2-FEATURE-ARGS')).toEqual([]);
  });
});

describe('V2-MIG-CAPS', () => {
  it('is a driver error without STOP_COPY and a warning for an undefined combination', () => {
    const t = v2Trace();
    opened(t, F.P2P);
    expect(blames(check(t.ops), 'V2-MIG-CAPS')).toEqual(['driver/error']);
    const u = v2Trace();
    opened(u, F.STOP_COPY | 0x100);
    expect(blames(check(u.ops), 'V2-MIG-CAPS')).toEqual(['driver/warning']);
  });
  it('is quiet on defined combinations and on a failed GET', () => {
    const t = v2Trace();
    for (const f of [1, 3, 5, 7]) opened(t, f, `d${f}`);
    t.device('e').flags(0, { errno: ENOTTY });
    expect(only(check(t.ops), 'V2-MIG-CAPS')).toEqual([]);
  });
});

describe('V2-STATE-RANGE', () => {
  it('fires for a SET of ERROR or ≥ 8, also on the driver when accepted', () => {
    const t = v2Trace();
    const d = opened(t);
    d.set(S.ERROR, { res: { errno: EINVAL } });
    d.set(9);
    expect(blames(check(t.ops), 'V2-STATE-RANGE')).toEqual(['vmm/error', 'vmm/error', 'driver/error']);
  });
  it('is quiet on states 1–7', () => {
    const t = v2Trace();
    const d = opened(t);
    d.set(S.RUNNING_P2P);
    d.set(S.RUNNING);
    expect(only(check(t.ops), 'V2-STATE-RANGE')).toEqual([]);
  });
});

describe('V2-UNSUPPORTED', () => {
  it('fires when the flags do not enable the state; a driver error if accepted', () => {
    const t = v2Trace();
    const d = opened(t, F.STOP_COPY);
    d.set(S.RUNNING_P2P, { res: { errno: EINVAL } });
    d.set(S.PRE_COPY);
    expect(blames(check(t.ops), 'V2-UNSUPPORTED')).toEqual(['vmm/error', 'vmm/error', 'driver/error']);
  });
  it('is quiet when the flags allow it, and when the flags were never read (inferred flags are a lower bound)', () => {
    const t = v2Trace();
    opened(t, F.STOP_COPY | F.P2P).set(S.RUNNING_P2P);
    opened(t, undefined, 'other').set(S.PRE_COPY_P2P, { res: { errno: EINVAL } });
    expect(only(check(t.ops), 'V2-UNSUPPORTED')).toEqual([]);
  });
});

describe('V2-BLOCKED-ARC', () => {
  it('fires for STOP_COPY → PRE_COPY, on the driver too when it succeeds', () => {
    const t = v2Trace();
    const d = opened(t);
    d.set(S.STOP_COPY, { session: 1 });
    d.set(S.PRE_COPY, { res: { errno: EINVAL } });
    d.set(S.PRE_COPY_P2P);
    const f = only(check(t.ops), 'V2-BLOCKED-ARC');
    expect(f.map((x) => `${x.blame}/${x.severity}`)).toEqual(['vmm/error', 'vmm/error', 'driver/error']);
    expect(f[0]?.message).toContain('loop forever');
  });
  it('reports a FEATURE ioctl without exit when the trace goes on for T seconds, not before', () => {
    const t = v2Trace();
    const d = opened(t);
    d.set(S.STOP_COPY, { session: 1 });
    const hung = d.set(S.PRE_COPY, { res: { unknown: true } });
    const other = t.device('other', { fd: 9 });
    t.wait(2_000_000); // 2 s later
    other.open();
    expect(only(check(t.ops, { v2HangSeconds: 3 }), 'V2-BLOCKED-ARC').map((x) => x.blame)).toEqual(['vmm']);
    const f = only(check(t.ops, { v2HangSeconds: 1 }), 'V2-BLOCKED-ARC');
    expect(f.map((x) => x.blame)).toEqual(['vmm', 'driver']);
    expect(lines(f[1])).toEqual([hung]);
  });
  it('is quiet on STOP_COPY → STOP and when the state before is unknown', () => {
    const t = v2Trace();
    const d = opened(t);
    d.set(S.STOP_COPY, { session: 1 });
    d.set(S.STOP);
    d.unseen();
    d.set(S.PRE_COPY, { res: { errno: EINVAL } });
    expect(only(check(t.ops), 'V2-BLOCKED-ARC')).toEqual([]);
  });
});

describe('V2-BLOCKED-ARC: entries without exit past the cap are counted, not dropped silently', () => {
  /** `n` SETs whose exit the trace lacks, on one device, then (with `later`) 2 s more of trace. */
  const run = (n: number, later: boolean) => {
    const t = v2Trace();
    const d = opened(t);
    for (let i = 0; i < n; i++) d.set(S.STOP, { res: { unknown: true } });
    if (later) {
      t.wait(2_000_000);
      t.device('other', { fd: 9 }).open();
    }
    const findings: Finding[] = [];
    const c = createOpsChecker({ v2HangSeconds: 1, onFinding: (f) => findings.push(f) });
    for (const o of t.ops) c.op(o);
    c.end();
    return { hung: only(findings, 'V2-BLOCKED-ARC').filter((f) => f.blame === 'driver').length, notJudged: c.notJudged() };
  };
  it('over the cap: the entries kept are judged, the exact number of the others is counted under the rule', () => {
    const r = run(MAX_PENDING + 7, true);
    expect(r.hung).toBe(MAX_PENDING);
    expect(r.notJudged).toEqual([{ rule: 'V2-BLOCKED-ARC', count: 7, what: expect.stringContaining(`past the ${MAX_PENDING} kept at once`) as string }]);
  });
  it('at the cap: every entry is judged and nothing is counted', () => {
    const r = run(MAX_PENDING, true);
    expect(r.hung).toBe(MAX_PENDING);
    expect(r.notJudged).toEqual([]);
  });
  it('quiet when the trace ends before the limit, whether or not the cap was reached (those past it still counted)', () => {
    expect(run(3, false)).toEqual({ hung: 0, notJudged: [] });
    expect(run(MAX_PENDING + 2, false).notJudged.map((n) => n.count)).toEqual([2]);
    expect(run(MAX_PENDING + 2, false).hung).toBe(0);
  });
});

describe('V2-ARC', () => {
  it('fires when a GET does not return the state a successful SET reached', () => {
    const t = v2Trace();
    const d = opened(t);
    const s = d.set(S.STOP);
    const g = d.get(S.RUNNING);
    const f = only(check(t.ops), 'V2-ARC');
    expect(f.map((x) => x.blame)).toEqual(['driver']);
    expect(lines(f[0])).toEqual([s, g]);
  });
  it('is quiet when it matches, after a reset, and after lost events it is uncertain', () => {
    const t = v2Trace();
    const d = opened(t);
    d.set(S.STOP);
    d.get(S.STOP);
    d.reset();
    d.get(S.RUNNING);
    expect(only(check(t.ops), 'V2-ARC')).toEqual([]);
    const u = v2Trace();
    const e = opened(u);
    e.set(S.STOP);
    u.gap();
    e.get(S.RUNNING);
    expect(only(check(u.ops), 'V2-ARC').map((x) => x.certainty)).toEqual(['uncertain']);
  });
});

describe('V2-FAIL-STATE', () => {
  it('fires when the GET after a failed SET shows a state off the path', () => {
    const t = v2Trace();
    const d = opened(t, F.STOP_COPY);
    d.set(S.STOP);
    d.set(S.RESUMING, { res: { errno: EIO } }); // path: RESUMING
    d.get(S.RUNNING);
    expect(blames(check(t.ops), 'V2-FAIL-STATE')).toEqual(['driver/error']);
  });
  it('accepts the original state, a state on the path and ERROR; is quiet when the state before was unknown', () => {
    for (const shown of [S.RUNNING, S.RUNNING_P2P, S.STOP, S.ERROR]) {
      const t = v2Trace();
      const d = opened(t, F.ALL);
      d.set(S.STOP_COPY, { res: { errno: EIO } }); // RUNNING › RUNNING_P2P › STOP › STOP_COPY
      d.get(shown);
      expect(only(check(t.ops), 'V2-FAIL-STATE'), `GET ${shown}`).toEqual([]);
    }
    const u = v2Trace();
    const e = opened(u, F.STOP_COPY);
    e.unseen();
    e.set(S.RESUMING, { res: { errno: EIO } });
    e.get(S.PRE_COPY);
    expect(only(check(u.ops), 'V2-FAIL-STATE')).toEqual([]);
  });
  it('with inferred flags accepts states on the path of any possible flag set', () => {
    const t = v2Trace();
    const d = opened(t, undefined);
    d.set(S.STOP_COPY, { res: { errno: EIO } });
    d.get(S.RUNNING_P2P); // on the path only if the device has P2P: possible, so no verdict
    expect(only(check(t.ops), 'V2-FAIL-STATE')).toEqual([]);
  });
});

describe('V2-ERROR-EXIT', () => {
  it('a SET in ERROR is a VMM warning (once) and its success a driver error; a reset must lead to RUNNING', () => {
    const t = v2Trace();
    const d = opened(t);
    d.set(S.STOP, { res: { errno: EIO } });
    d.get(S.ERROR);
    d.set(S.RUNNING, { res: { errno: EINVAL } });
    d.set(S.STOP);
    d.reset();
    d.get(S.STOP);
    expect(blames(check(t.ops), 'V2-ERROR-EXIT')).toEqual(['vmm/warning', 'driver/error', 'driver/error']);
  });
  it('is quiet when the VMM resets out of ERROR and the device is RUNNING', () => {
    const t = v2Trace();
    const d = opened(t);
    d.set(S.STOP, { res: { errno: EIO } });
    d.get(S.ERROR);
    d.reset();
    d.get(S.RUNNING);
    d.set(S.STOP);
    expect(only(check(t.ops), 'V2-ERROR-EXIT')).toEqual([]);
  });
});

describe('V2-ASYNC', () => {
  it('fires when two GETs differ with nothing in between', () => {
    const t = v2Trace();
    const d = opened(t);
    d.get(S.RUNNING);
    d.get(S.STOP);
    expect(blames(check(t.ops), 'V2-ASYNC')).toEqual(['driver/error']);
  });
  it('is quiet across a SET or a reset, and when a GET failed', () => {
    const t = v2Trace();
    const d = opened(t);
    d.get(S.RUNNING);
    d.set(S.STOP);
    d.get(S.STOP);
    d.reset();
    d.get(S.RUNNING);
    d.get(undefined, { res: { errno: EIO } });
    d.get(S.RUNNING);
    expect(only(check(t.ops), 'V2-ASYNC')).toEqual([]);
  });
});

describe('V2-DATAFD', () => {
  it('fires for a missing data_fd on a session start, an fd where none is due, and a GET with an fd', () => {
    const t = v2Trace();
    const d = opened(t, F.STOP_COPY);
    d.set(S.STOP);
    d.set(S.STOP_COPY, { dataFd: -1 });
    d.set(S.STOP, { dataFd: 7 });
    d.get(S.STOP, { dataFd: 3 });
    expect(blames(check(t.ops), 'V2-DATAFD')).toEqual(['driver/error', 'driver/error', 'driver/error']);
  });
  it('is quiet on the right fds, with an unseen fd, and when the state before is unknown', () => {
    const t = v2Trace();
    const d = opened(t, F.STOP_COPY);
    d.set(S.STOP_COPY, { session: 1 }); // RUNNING › STOP › STOP_COPY starts a session
    d.set(S.STOP);
    d.set(S.RESUMING, { dataFd: undefined });
    d.unseen();
    d.set(S.STOP, { dataFd: 9 });
    expect(only(check(t.ops), 'V2-DATAFD')).toEqual([]);
  });
});

describe('V2-SESSION-END and V2-FD-DIRECTION', () => {
  it('reading a data fd after its session ended warns the VMM, and the driver when it succeeds', () => {
    const t = v2Trace();
    const d = opened(t);
    d.set(S.STOP_COPY, { session: 1 });
    d.read(1, 0);
    d.set(S.STOP);
    d.read(1, 16);
    d.read(1, 16);
    expect(blames(check(t.ops), 'V2-SESSION-END')).toEqual(['vmm/warning', 'driver/warning']);
  });
  it('a failing read after the end warns only the VMM; reads within the session are quiet', () => {
    const t = v2Trace();
    const d = opened(t);
    d.set(S.STOP_COPY, { session: 1 });
    d.read(1, 0x1000);
    d.read(1, 0);
    d.reset();
    d.read(1, { errno: 19 });
    expect(blames(check(t.ops), 'V2-SESSION-END')).toEqual(['vmm/warning']);
    const q = v2Trace();
    cleanSave(q);
    expect(only(check(q.ops), 'V2-SESSION-END')).toEqual([]);
  });
  it('write on a saving fd and read on a resuming fd are VMM errors', () => {
    const t = v2Trace();
    const d = opened(t);
    d.set(S.STOP_COPY, { session: 1 });
    d.write(1, 16);
    d.set(S.STOP);
    d.set(S.RESUMING, { session: 2 });
    d.read(2, 16);
    expect(blames(check(t.ops), 'V2-FD-DIRECTION')).toEqual(['vmm/error', 'vmm/error']);
    const q = v2Trace();
    cleanResume(q);
    expect(only(check(q.ops), 'V2-FD-DIRECTION')).toEqual([]);
  });
});

describe('V2-ENOMSG', () => {
  it('is a driver error in STOP_COPY', () => {
    const t = v2Trace();
    const d = opened(t);
    d.set(S.STOP_COPY, { session: 1 });
    d.read(1, { errno: ENOMSG });
    expect(blames(check(t.ops), 'V2-ENOMSG')).toEqual(['driver/error']);
  });
  it('is quiet in PRE_COPY and when the state is unknown', () => {
    const t = v2Trace();
    const d = opened(t);
    d.set(S.PRE_COPY, { session: 1 });
    d.read(1, { errno: ENOMSG });
    d.unseen();
    d.read(1, { errno: ENOMSG });
    expect(only(check(t.ops), 'V2-ENOMSG')).toEqual([]);
  });
});

describe('V2-SAVE-DRAIN', () => {
  it('fires when STOP_COPY is left for STOP before read() returned 0', () => {
    const t = v2Trace();
    const d = opened(t);
    d.set(S.STOP_COPY, { session: 1 });
    d.read(1, 0x1000);
    const l = d.set(S.STOP);
    const f = only(check(t.ops), 'V2-SAVE-DRAIN');
    expect(f.map((x) => x.blame)).toEqual(['vmm']);
    expect(lines(f[0])?.at(-1)).toBe(l);
  });
  it('is quiet when drained, when abandoned (back to RUNNING, failed SET, QEMU says failed) and when reads were not traced', () => {
    const base = (end: (d: ReturnType<typeof opened>) => void, reads = true) => {
      const t = v2Trace();
      const d = opened(t);
      d.set(S.STOP_COPY, { session: 1 });
      if (reads) d.read(1, 0x1000);
      end(d);
      return only(check(t.ops), 'V2-SAVE-DRAIN');
    };
    expect(base((d) => (d.read(1, 0), d.set(S.STOP)))).toEqual([]);
    expect(base((d) => d.set(S.RUNNING))).toEqual([]);
    expect(base((d) => (d.set(S.RESUMING, { res: { errno: EIO } }), d.get(S.STOP_COPY), d.set(S.STOP)))).toEqual([]);
    expect(base((d) => (d.qemu('vfio_migration_state_notifier', { state: 'failed' }), d.set(S.STOP)))).toEqual([]);
    expect(base((d) => d.set(S.STOP), false)).toEqual([]);
    // QEMU 9.0+ prints the notifier's MigrationEventType: 2 is MIG_EVENT_PRECOPY_FAILED.
    expect(base((d) => (d.qemu('vfio_migration_state_notifier', { state: 2n }), d.set(S.STOP)))).toEqual([]);
  });
  it('an earlier abandoned migration does not switch the rule off for the next one', () => {
    const t = v2Trace();
    const d = opened(t);
    d.set(S.STOP_COPY, { session: 1 });
    d.read(1, 0x1000);
    d.qemu('vfio_migration_state_notifier', { state: 'failed' });
    d.set(S.STOP); // abandoned: quiet
    d.set(S.RUNNING);
    d.set(S.STOP);
    d.set(S.STOP_COPY, { session: 2 });
    d.read(2, 0x1000);
    const l = d.set(S.STOP); // the next attempt leaves STOP_COPY undrained
    const f = only(check(t.ops), 'V2-SAVE-DRAIN');
    expect(f.map((x) => lines(x).at(-1))).toEqual([l]);
  });
});

describe('V2-PRECOPY-INFO', () => {
  it('success outside PRE_COPY, refusal in PRE_COPY with PRE_COPY advertised, and rising initial_bytes', () => {
    const t = v2Trace();
    const d = opened(t);
    d.set(S.PRE_COPY, { session: 1 });
    d.precopy(1, undefined, undefined, { res: { errno: ENOTTY } });
    d.precopy(1, 0x1000n, 0n);
    d.precopy(1, 0x2000n, 0n);
    d.set(S.STOP_COPY);
    d.precopy(1, 0n, 0n);
    expect(blames(check(t.ops), 'V2-PRECOPY-INFO')).toEqual(['driver/error', 'driver/warning', 'driver/error']);
  });
  it('is quiet on a clean pre-copy, on EINVAL outside PRE_COPY, and on a rise with a re-init flag', () => {
    const t = v2Trace();
    const d = opened(t);
    d.set(S.PRE_COPY, { session: 1 });
    d.precopy(1, 0x2000n, 0n);
    d.precopy(1, 0x1000n, 0x10n);
    d.precopy(1, 0x3000n, 0n, { flags: 1 });
    d.set(S.STOP_COPY);
    d.precopy(1, undefined, undefined, { res: { errno: EINVAL } });
    expect(only(check(t.ops), 'V2-PRECOPY-INFO')).toEqual([]);
  });
});

describe('V2-RESUME-ABORT', () => {
  it('fires when the device is used after a failed resume without a reset', () => {
    const t = v2Trace();
    const d = opened(t);
    d.set(S.RESUMING, { session: 1 });
    d.write(1, 0x1000);
    d.set(S.RUNNING, { res: { errno: EINVAL } });
    d.set(S.RUNNING);
    expect(blames(check(t.ops), 'V2-RESUME-ABORT')).toEqual(['vmm/warning']);
  });
  it('is quiet after a reset', () => {
    const t = v2Trace();
    const d = opened(t);
    d.set(S.RESUMING, { session: 1 });
    d.set(S.RUNNING, { res: { errno: EINVAL } });
    d.reset();
    d.set(S.STOP);
    expect(only(check(t.ops), 'V2-RESUME-ABORT')).toEqual([]);
  });
});

describe('V2-FAIL-RECOVER', () => {
  it('fires when a failed SET is followed by neither a recovery SET nor a reset', () => {
    const t = v2Trace();
    const d = opened(t);
    d.set(S.STOP_COPY, { res: { errno: EIO } });
    d.get(S.STOP);
    d.close();
    expect(blames(check(t.ops), 'V2-FAIL-RECOVER')).toEqual(['vmm/warning']);
  });
  it('is quiet after a recovery SET, a reset, ERROR, or a request the core rejects', () => {
    for (const then of ['set', 'reset', 'error', 'rejected'] as const) {
      const t = v2Trace();
      const d = opened(t, F.STOP_COPY);
      if (then === 'rejected') d.set(S.PRE_COPY, { res: { errno: EINVAL } });
      else {
        d.set(S.STOP_COPY, { res: { errno: EIO } });
        if (then === 'set') d.set(S.RUNNING);
        if (then === 'reset') d.reset();
        if (then === 'error') d.get(S.ERROR);
      }
      expect(only(check(t.ops), 'V2-FAIL-RECOVER'), then).toEqual([]);
    }
  });
});

describe('V2-P2P-ORDER', () => {
  it('fires when one device stops while another is still RUNNING', () => {
    const t = v2Trace();
    const a = opened(t, F.STOP_COPY | F.P2P, 'a');
    const b = t.device('b', { fd: 6 });
    b.open();
    b.flags(F.STOP_COPY | F.P2P);
    a.set(S.RUNNING_P2P);
    a.set(S.STOP);
    expect(blames(check(t.ops), 'V2-P2P-ORDER')).toEqual(['vmm/warning']);
  });
  it('fires when one device starts while another is still RESUMING', () => {
    const t = v2Trace();
    const a = opened(t, F.STOP_COPY | F.P2P, 'a');
    const b = t.device('b', { fd: 6 });
    b.open();
    b.flags(F.STOP_COPY | F.P2P);
    a.set(S.RESUMING, { session: 1 });
    b.set(S.RESUMING, { session: 1 });
    a.set(S.RUNNING_P2P);
    a.set(S.RUNNING);
    expect(blames(check(t.ops), 'V2-P2P-ORDER')).toEqual(['vmm/warning']);
  });
  it('is quiet in QEMU\'s order, and when a device lacks P2P', () => {
    const t = v2Trace();
    const a = opened(t, F.STOP_COPY | F.P2P, 'a');
    const b = t.device('b', { fd: 6 });
    b.open();
    b.flags(F.STOP_COPY | F.P2P);
    a.set(S.RUNNING_P2P);
    b.set(S.RUNNING_P2P);
    a.set(S.STOP);
    b.set(S.STOP);
    expect(only(check(t.ops), 'V2-P2P-ORDER')).toEqual([]);
    const u = v2Trace();
    const c = opened(u, F.STOP_COPY | F.P2P, 'c');
    opened(u, F.STOP_COPY, 'd');
    c.set(S.STOP);
    expect(only(check(u.ops), 'V2-P2P-ORDER')).toEqual([]);
  });
});

describe('V2-STOPPED-ACCESS', () => {
  it('warns once per stay in STOP for BAR or config accesses', () => {
    const t = v2Trace();
    const d = opened(t);
    d.access(0);
    d.set(S.STOP);
    d.access(7);
    d.access(0, true);
    d.set(S.STOP_COPY, { session: 1 });
    d.access(2);
    expect(blames(check(t.ops), 'V2-STOPPED-ACCESS')).toEqual(['vmm/warning', 'vmm/warning']);
  });
  it('is quiet while running and when the state is unknown', () => {
    const t = v2Trace();
    const d = opened(t);
    d.access(0);
    d.set(S.RUNNING_P2P);
    d.access(0);
    d.unseen();
    d.access(0);
    expect(only(check(t.ops), 'V2-STOPPED-ACCESS')).toEqual([]);
  });
});

describe('V2-STREAM-BYTES', () => {
  function ends(resumeBytes: number[]): ProtocolOp[] {
    const ops: ProtocolOp[] = [];
    cleanSave(v2Trace('src.trace', ops), 'gpu0'); // reads 0x7000 bytes
    cleanResume(v2Trace('dst.trace', ops), 'gpu0', F.ALL, resumeBytes);
    return ops.map((o) => (o.op !== 'gap' && o.src.file === 'dst.trace' ? { ...o, device: { ...o.device, pid: 200 } } : o));
  }
  it('warns when the destination wrote a different total than the source read', () => {
    expect(blames(check(ends([0x2000, 0x2000])), 'V2-STREAM-BYTES')).toEqual(['vmm/warning']);
  });
  /** A source whose STOP_COPY SET hands out a new data_fd for the same stream (pre-copy 12,288 + stop-copy 12,296 bytes). */
  function newFdEnds(resumeBytes: number[]): ProtocolOp[] {
    const ops: ProtocolOp[] = [];
    const t = v2Trace('src.trace', ops);
    const d = t.device('gpu0');
    d.open();
    d.flags(F.ALL);
    d.set(S.PRE_COPY, { session: 1 });
    d.read(1, 0x2000);
    d.read(1, 0x1000);
    d.set(S.PRE_COPY_P2P);
    d.set(S.STOP_COPY, { session: 2 });
    d.read(2, 0x3000);
    d.read(2, 8);
    d.read(2, 0);
    d.set(S.STOP);
    cleanResume(v2Trace('dst.trace', ops), 'gpu0', F.ALL, resumeBytes);
    return ops.map((o) => (o.op !== 'gap' && o.src.file === 'dst.trace' ? { ...o, device: { ...o.device, pid: 200 } } : o));
  }
  it('counts the pre-copy reads too when STOP_COPY got a new data_fd: 12,296 of 24,584 bytes is flagged', () => {
    const f = only(check(newFdEnds([0x3000, 8])), 'V2-STREAM-BYTES');
    expect(f.map((x) => x.blame)).toEqual(['vmm']);
    expect(f[0]?.message).toContain('read 24584 bytes');
    expect(f[0]?.message).toContain('wrote 12296 bytes');
    expect(only(check(newFdEnds([0x3000, 0x3000, 8])), 'V2-STREAM-BYTES')).toEqual([]);
  });
  it('is quiet when the totals match with different boundaries, and for unpaired pid:fd devices', () => {
    expect(only(check(ends([0x4000, 0x3000])), 'V2-STREAM-BYTES')).toEqual([]);
    const ops: ProtocolOp[] = [];
    cleanSave(v2Trace('src.trace', ops), 'gpu0');
    expect(only(check(ops), 'V2-STREAM-BYTES')).toEqual([]);
  });
});

describe('QEMU events fill a trace without argument structs (ftrace)', () => {
  it('QEMU 8.0 set_state after each unseen SET: a clean save has no findings, and V2-ARC then works on QEMU\'s state', () => {
    const t = v2Trace();
    const d = opened(t, undefined);
    for (const st of ['STOP', 'STOP_COPY', 'STOP']) {
      d.unseen();
      d.qemu('vfio_migration_set_state', { state: st });
    }
    expect(check(t.ops)).toEqual([]);
  });
  it('an unseen FEATURE call without QEMU\'s event makes the state unknown: no verdict from a stale state', () => {
    const t = v2Trace();
    const d = opened(t, F.STOP_COPY);
    d.set(S.STOP);
    d.unseen();
    d.get(S.RUNNING); // would be V2-ARC against the stale STOP
    d.set(S.PRE_COPY, { res: { errno: EINVAL } }); // V2-UNSUPPORTED still fires: it needs no state
    expect(check(t.ops).map((f) => f.rule)).toEqual(['V2-UNSUPPORTED']);
  });
});

describe('v1 rules ignore v2 devices; v2 rules ignore v1 devices', () => {
  it('one process with a v1 device and a v2 device, both clean', () => {
    const ops: ProtocolOp[] = [];
    const t1 = trace('mixed.trace', ops);
    const v1 = t1.device('v1dev', { fd: 5 });
    v1.open();
    v1.region();
    const t2 = v2Trace('mixed.trace', ops);
    const v2 = t2.device('v2dev', { fd: 6 });
    v2.open();
    v2.flags(F.STOP_COPY);
    v1.set(1, 2);
    v2.set(S.STOP_COPY, { session: 1 });
    v1.pending(0n);
    v2.read(1, 0x1000);
    v2.read(1, 0);
    v1.set(2, 0);
    v2.set(S.STOP);
    expect(check(ops)).toEqual([]);
  });
});
