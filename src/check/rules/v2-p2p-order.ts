// V2-P2P-ORDER (spec §6.2; §5.3 RUNNING_P2P [L518], §5.6 multiple devices [QDOC]): with
// several P2P-capable devices in one VM (one process), every device must be quiesced
// (RUNNING_P2P or PRE_COPY_P2P) before any leaves for STOP or STOP_COPY; on resume every
// device must reach RUNNING_P2P before any goes to RUNNING. Otherwise a still-running
// device's peer-to-peer DMA can reach a stopped one.
//
// Global: relates the devices of one process. A device counts when its flags (learned, or
// proven by a P2P state seen) include P2P; a device whose flags or state are unknown
// makes no verdict. Each offending SET is reported once.

import type { V2Op } from '../../decode/ops.js';
import { MIG_FLAG_P2P } from '../../protocol/v2.js';
import { V2_PRE_COPY, V2_RESUMING, V2_RUNNING, V2_RUNNING_P2P, V2_STOP, V2_STOP_COPY, V2_PRE_COPY_P2P, v2Name } from '../../track/v2-model.js';
import type { DeviceContext } from '../../track/device-view.js';
import type { GlobalRuleDef } from '../rule.js';
import { v2Evidence, v2StateText } from './v2-format.js';

function p2p(ctx: DeviceContext): boolean | undefined {
  const f = ctx.v2.learnedFlags?.value;
  if (f !== undefined) return (f & MIG_FLAG_P2P) !== 0;
  return (ctx.v2.shownFlags & MIG_FLAG_P2P) !== 0 ? true : undefined;
}

const RUNNING_SET = new Set([V2_RUNNING, V2_PRE_COPY, V2_RUNNING_P2P, V2_PRE_COPY_P2P]);

export const v2P2pOrder: GlobalRuleDef = {
  scope: 'global',
  id: 'V2-P2P-ORDER',
  title: 'Devices of one VM stopped or started before all were P2P-quiesced',
  severities: ['warning'],
  blames: ['vmm'],
  specRef: 'spec §6.2 V2-P2P-ORDER; §5.3 [L518]; §5.6 [QDOC]',
  description:
    'When one VM (process) has several v2 devices that all support P2P, each must reach RUNNING_P2P or PRE_COPY_P2P before any of them goes on to STOP or STOP_COPY, and on resume each must reach RUNNING_P2P before any goes to RUNNING. A SET that breaks this order is a VMM warning. Devices whose flags or current state the trace does not show make no verdict.',
  uncertainWhen: 'Events were lost: another device\'s quiescing SET may have been among them.',
  create(env) {
    const byPid = new Map<string, Map<string, DeviceContext>>();
    const pidKey = (ctx: DeviceContext): string => (ctx.device.pid === undefined ? `file:${ctx.key.split('\u0000file:')[1] ?? ''}` : String(ctx.device.pid));
    return {
      v2Op(o: V2Op, ctx) {
        const pk = pidKey(ctx);
        let devs = byPid.get(pk);
        if (devs === undefined) byPid.set(pk, (devs = new Map()));
        devs.set(ctx.key, ctx);
        if (o.op !== 'v2-set-state' || o.result.ok !== true) return;
        const st = ctx.v2.state;
        if (st === undefined || devs.size < 2) return;
        const others = [...devs.values()].filter((c) => c.key !== ctx.key && c.v2.isV2);
        if (p2p(ctx) !== true || others.length === 0 || others.some((c) => p2p(c) !== true)) return;
        let offenders: DeviceContext[] = [];
        let what = '';
        if (RUNNING_SET.has(st.raw) && (o.requested === V2_STOP || o.requested === V2_STOP_COPY)) {
          offenders = others.filter((c) => c.v2.state !== undefined && (c.v2.state.raw === V2_RUNNING || c.v2.state.raw === V2_PRE_COPY));
          what = `moved ${ctx.device.id} from ${v2StateText(st.raw)} to ${v2StateText(o.requested)} while`;
        } else if ((st.raw === V2_RUNNING_P2P || st.raw === V2_STOP || st.raw === V2_RESUMING) && o.requested === V2_RUNNING) {
          offenders = others.filter((c) => c.v2.state !== undefined && (c.v2.state.raw === V2_STOP || c.v2.state.raw === V2_RESUMING || c.v2.state.raw === V2_STOP_COPY));
          what = `started ${ctx.device.id} (${v2StateText(st.raw)} → RUNNING) while`;
        }
        if (offenders.length === 0) return;
        env.report(ctx, {
          severity: 'warning',
          blame: 'vmm',
          tsNs: o.tsNs,
          message: `The VMM ${what} ${offenders.map((c) => `${c.device.id} was still in ${v2Name(c.v2.state?.raw)}`).join(', ')}; all P2P devices of a VM must be in a P2P state first.`,
          evidence: [...offenders.flatMap((c) => (c.v2.state === undefined ? [] : [{ src: c.v2.state.src, what: `${c.device.id}: ${c.v2.state.what}` }])), v2Evidence(o)],
          uncertain: ctx.gaps.count > 0 && [ctx, ...offenders].some((c) => c.v2.state !== undefined && c.gaps.count !== c.v2.state.gapSerial),
        });
      },
      processEvicted(f) {
        // The process's SETs were all judged as they came; its devices left byPid at their
        // close (before its exit), so this only drops what a device without a close left.
        byPid.delete(String(f.pid));
      },
      liveEntries: () => [...byPid.values()].reduce((n, m) => n + m.size, 0),
      finish(_reason, _at, ctx) {
        const pk = pidKey(ctx);
        byPid.get(pk)?.delete(ctx.key);
        if (byPid.get(pk)?.size === 0) byPid.delete(pk);
      },
    };
  },
};
