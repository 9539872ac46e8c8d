// V1-SEGMENTS (spec §6.1; §2.3 rule 10 [L58], §3.4 [QV1]): with both ends traced, the
// destination writes the data in the order received and with the same transaction sizes
// as the source: its sequence of data_size writes must equal the source's sequence of
// data_size reads. QEMU splits a chunk when the destination's region is smaller; that is
// flagged too.
//
// The two ends are devices with the same name (from different processes or files). A
// session is the stretch in saving states (source) or in RESUMING (destination); it is
// compared when both of a pair are over. Memory stays bounded: each session keeps its
// first `segmentsKept` sizes plus a count and a total, and at most a few finished,
// unpaired sessions are kept per name, dropped when the last process using the name is
// gone (host mode: processEvicted).

import type { DeviceOp } from '../../decode/ops.js';
import { V1_RESUMING, V1_STATE_MASK, v1IsSaving } from '../../protocol/v1.js';
import type { Source } from '../../record/types.js';
import type { DeviceContext } from '../../track/device-view.js';
import { baseName } from '../../track/facts.js';
import { hex } from '../format.js';
import type { GlobalRuleDef } from '../rule.js';
import type { Evidence } from '../types.js';

interface Session {
  readonly kind: 'save' | 'resume';
  readonly ctx: DeviceContext;
  /** The file the session was traced in, to tell the two ends apart in messages. */
  readonly file: string;
  readonly gapSerialAtStart: number;
  lastTsNs: bigint | undefined;
  readonly sizes: bigint[];
  readonly srcs: Source[];
  count: number;
  total: bigint;
  /** A size was not seen (unseen value or result): the session cannot be compared. */
  incomplete: boolean;
  /** A data_size write failed: the resume failed, nothing to compare. */
  failed: boolean;
  /** For saves: a data_size was already counted in the current iteration. */
  counted: boolean;
  gapSerialAtEnd: number;
}

const KEPT_PER_NAME = 4;

export const v1Segments: GlobalRuleDef = {
  scope: 'global',
  id: 'V1-SEGMENTS',
  title: 'Destination chunks differ from the source',
  severities: ['warning'],
  blames: ['vmm'],
  specRef: 'spec §6.1 V1-SEGMENTS; §2.3 rule 10 [L58]; §2.7 [REV]; §3.4 [QV1]',
  description:
    'When both ends of a migration are traced (devices with the same name in two processes or files), the destination\'s sequence of data_size writes while resuming must match the source\'s sequence of data_size reads while saving, in order and size: the data is opaque and must be written as it was received, with the same transaction sizes. A difference is a VMM warning; so is a source chunk split into several destination writes (QEMU does that when the destination\'s region is smaller). Needs the values on both ends; devices named only by pid:fd are not paired.',
  uncertainWhen: 'Events were lost during either session: the missing data_size accesses would change the sequences.',
  create(env) {
    const open = new Map<string, Session>(); // by device key
    const finished = new Map<string, { saves: Session[]; resumes: Session[] }>(); // by device name (baseName)

    const finishSession = (s: Session): void => {
      open.delete(s.ctx.key);
      s.gapSerialAtEnd = s.ctx.gaps.count;
      if ((s.ctx.device.naming === 'pid-fd' || s.ctx.device.naming === 'path') || s.failed) return;
      // The name without the "@pidN" / "@file" suffix the tracker and the pipeline give the
      // second of two devices of one name: that is exactly the other end.
      const name = baseName(s.ctx.device.id);
      const lists = finished.get(name) ?? { saves: [], resumes: [] };
      finished.set(name, lists);
      const others = s.kind === 'save' ? lists.resumes : lists.saves;
      const i = others.findIndex((x) => x.ctx.key !== s.ctx.key);
      if (i >= 0) {
        const [other] = others.splice(i, 1);
        if (other !== undefined) compare(s.kind === 'save' ? s : other, s.kind === 'save' ? other : s);
      } else {
        const mine = s.kind === 'save' ? lists.saves : lists.resumes;
        mine.push(s);
        if (mine.length > KEPT_PER_NAME) mine.shift();
      }
      if (lists.saves.length === 0 && lists.resumes.length === 0) finished.delete(name);
    };

    const compare = (src: Session, dst: Session): void => {
      if (src.incomplete || dst.incomplete) return;
      const uncertain = src.gapSerialAtStart !== src.gapSerialAtEnd || dst.gapSerialAtStart !== dst.gapSerialAtEnd;
      const who = (s: Session): string => `${s.ctx.device.pid === undefined ? '' : `pid ${s.ctx.device.pid}, `}${s.file}`;
      const warn = (message: string, ev: readonly Evidence[]): void =>
        env.report(dst.ctx, { severity: 'warning', blame: 'vmm', tsNs: dst.lastTsNs, message, evidence: ev, uncertain });
      const ev = (s: Session, i: number, what: string): Evidence[] => {
        const at = s.srcs[i];
        return at === undefined ? [] : [{ src: at, what }];
      };
      let i = 0;
      let j = 0;
      let split: { i: number; j: number; parts: number } | undefined;
      const n = src.sizes.length;
      const m = dst.sizes.length;
      while (i < n && j < m) {
        const want = src.sizes[i] ?? 0n;
        let got = dst.sizes[j] ?? 0n;
        if (got === want) {
          i += 1;
          j += 1;
          continue;
        }
        if (got < want) {
          let k = j + 1;
          while (got < want && k < m) got += dst.sizes[k++] ?? 0n;
          if (got === want) {
            split ??= { i, j, parts: k - j };
            i += 1;
            j = k;
            continue;
          }
        }
        warn(
          `The destination (${who(dst)}) wrote data_size ${hex(dst.sizes[j] ?? 0n)} for chunk ${i + 1}, but the source (${who(src)}) read ${hex(want)} for it. The destination must write the data in the order received and with the same transaction sizes as the source.`,
          [...ev(src, i, `source chunk ${i + 1}: data_size ${hex(want)}`), ...ev(dst, j, `destination write for chunk ${i + 1}: data_size ${hex(dst.sizes[j] ?? 0n)}`)],
        );
        return;
      }
      if (split !== undefined) {
        warn(
          `The destination (${who(dst)}) split the source's chunk ${split.i + 1} (${hex(src.sizes[split.i] ?? 0n)} bytes) into ${split.parts} data_size writes. QEMU does this when the destination's migration region is smaller than the source's; the transaction sizes then differ from the source's.`,
          [...ev(src, split.i, `source chunk ${split.i + 1}`), ...ev(dst, split.j, 'first destination write of the split chunk')],
        );
      }
      const prefixDone = n === src.count && m === dst.count;
      if (prefixDone && i === n && j === m) return;
      if (src.total !== dst.total || (prefixDone && (i < n || j < m))) {
        warn(
          `The source (${who(src)}) read ${src.count} chunks totalling ${hex(src.total)} bytes; the destination (${who(dst)}) wrote ${dst.count} chunks totalling ${hex(dst.total)} bytes. The destination must write every chunk it received, in order, with the same sizes.`,
          [...ev(src, Math.min(i, n - 1), `source chunk ${Math.min(i, n - 1) + 1}`), ...ev(dst, Math.min(j, m - 1), `destination chunk ${Math.min(j, m - 1) + 1}`)],
        );
      }
    };

    const sessionFor = (ctx: DeviceContext, kind: 'save' | 'resume', o: DeviceOp): Session => {
      const s = open.get(ctx.key);
      if (s !== undefined && s.kind === kind) return s;
      if (s !== undefined) finishSession(s);
      const n: Session = { kind, ctx, file: o.src.file, lastTsNs: o.tsNs, gapSerialAtStart: ctx.gaps.count, sizes: [], srcs: [], count: 0, total: 0n, incomplete: false, failed: false, counted: false, gapSerialAtEnd: ctx.gaps.count };
      open.set(ctx.key, n);
      return n;
    };

    const add = (s: Session, value: bigint, o: DeviceOp): void => {
      const src = o.src;
      s.lastTsNs = o.tsNs ?? s.lastTsNs;
      s.count += 1;
      s.total += value;
      if (s.sizes.length < env.options.segmentsKept) {
        s.sizes.push(value);
        s.srcs.push(src);
      }
    };

    return {
      op(o: DeviceOp, ctx) {
        const st = ctx.state;
        const cur = open.get(ctx.key);
        const mode = st === undefined ? undefined : v1IsSaving(st.raw) ? 'save' : (st.raw & V1_STATE_MASK) === V1_RESUMING ? 'resume' : 'off';
        if (cur !== undefined && mode !== undefined && mode !== cur.kind) finishSession(cur);
        if (o.op !== 'v1-field') return;
        if (mode === 'save') {
          const s = sessionFor(ctx, 'save', o);
          if (o.field === 'pending_bytes' || o.field === 'data_offset') s.counted = false;
          if (o.field !== 'data_size' || o.write || s.counted) return;
          s.counted = true;
          if (o.result.ok !== true || o.value === undefined) s.incomplete = true;
          else if (o.value > 0n) add(s, o.value, o); // an empty buffer sends nothing
        } else if (mode === 'resume') {
          if (o.field !== 'data_size' || !o.write) return;
          const s = sessionFor(ctx, 'resume', o);
          if (o.result.ok === false) s.failed = true;
          else if (o.result.ok === undefined || o.value === undefined) s.incomplete = true;
          else add(s, o.value, o);
        }
      },
      finish(_reason, _at, ctx) {
        const s = open.get(ctx.key);
        if (s !== undefined) finishSession(s);
      },
      processEvicted(f) {
        // The process's sessions were finished at its devices' closes (before its exit) and
        // compared if their other end was finished already. An end still waiting can be
        // paired only while a device of that name is open in another process (a local
        // migration's destination opens its devices before the stream starts, so it is
        // open when the source exits): then it waits on; else nothing can pair it any more.
        for (const d of f.devices) {
          const s = open.get(d.key);
          if (s !== undefined) finishSession(s);
        }
        const names = new Set(f.devices.map((d) => baseName(d.device.id)));
        for (const n of names) if (!f.namesInUse.has(n)) finished.delete(n);
      },
      liveEntries: () => open.size + [...finished.values()].reduce((n, l) => n + l.saves.length + l.resumes.length, 0),
    };
  },
};
