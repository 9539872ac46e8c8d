// When the checker says a device's migration starts and ends (src/track/migration-episode.ts),
// observed through a probe rule that records the ends it is told about.

import { describe, expect, it } from 'vitest';
import type { DeviceRuleDef } from '../../src/check/rule.js';
import type { MigrationEnd } from '../../src/track/migration-episode.js';
import { check, EAGAIN, EINVAL, trace } from '../check/ops-builder.js';

function ends(ops: ReturnType<typeof trace>['ops']): MigrationEnd[] {
  const seen: MigrationEnd[] = [];
  const probe: DeviceRuleDef = {
    scope: 'device',
    id: 'PROBE',
    title: 'probe',
    severities: ['warning'],
    blames: ['vmm'],
    specRef: '§',
    description: 'records migration ends',
    uncertainWhen: 'never',
    create: () => ({ migrationEnd: (e) => void seen.push(e) }),
  };
  check(ops, { rules: [probe] });
  return seen;
}

describe('migration context', () => {
  it('starts on entering a saving state and ends when the device is back in RUNNING', () => {
    const t = trace();
    const d = t.device('dev');
    d.open();
    const start = d.set(1, 3);
    const fail = d.set(3, 2, { errno: EINVAL });
    d.read(3);
    const back = d.set(3, 1);
    const e = ends(t.ops);
    expect(e).toHaveLength(1);
    expect(e[0]).toMatchObject({ backToRunning: true, reason: 'the device is back in RUNNING' });
    expect(e[0]?.migration.kind).toBe('save');
    expect(e[0]?.migration.startSrc.line).toBe(start);
    expect(e[0]?.migration.failure?.src.line).toBe(fail);
    expect(e[0]?.migration.movedOutOfRunning?.src.line).toBe(start);
    expect(e[0]?.src?.line).toBe(back);
  });

  it('settles a notifier-announced end only after the recovery sequence', () => {
    const t = trace();
    const d = t.device('dev');
    d.set(1, 4);
    d.qemu('vfio_migration_state_notifier', { state: 'failed' });
    d.read(4); // part of QEMU's set_state sequence
    d.write(0, { errno: EINVAL });
    d.read(4);
    const next = d.qemu('vfio_load_cleanup', {});
    d.close();
    const e = ends(t.ops);
    expect(e).toHaveLength(1);
    expect(e[0]?.migration.kind).toBe('resume');
    expect(e[0]?.reason).toContain('"failed"');
    expect(e[0]?.backToRunning).toBe(false);
    expect(next).toBeGreaterThan(e[0]?.src?.line ?? Infinity);
  });

  it('ends when QEMU resumes the VM, when the device is closed, and when the trace ends', () => {
    const t = trace();
    const a = t.device('a');
    a.set(1, 3);
    a.qemu('vfio_vmstate_change', { running: 1n, reason: 'running', deviceState: 3n });
    const b = t.device('b');
    b.set(1, 3);
    b.close();
    const c = t.device('c');
    c.set(1, 4);
    const e = ends(t.ops);
    expect(e.map((x) => x.reason)).toEqual([
      'QEMU resumed the VM (vfio_vmstate_change running 1)',
      'the device was closed',
      'the trace ended',
    ]);
  });

  it('counts a failed attempt to enter a migration as a migration, but not an EAGAIN', () => {
    const t = trace();
    const a = t.device('a');
    a.read(1);
    a.write(3, { errno: EINVAL });
    const b = t.device('b');
    b.read(1);
    b.write(3, { errno: EAGAIN });
    const e = ends(t.ops);
    expect(e).toHaveLength(1);
    expect(e[0]?.migration.failure?.errno).toBe(EINVAL);
  });
});
