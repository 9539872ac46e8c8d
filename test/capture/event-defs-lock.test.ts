// The host-wide lock migscope captures hold while they change uprobe_events or trace-cmd
// copies event formats (capture/event-defs-lock.ts). Another capture is played by a child
// process that takes the lock the way a migscope would (directory + owner pid/start time).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'migscope-lock-test-'));
process.env['MIGSCOPE_LOCK_DIR'] = dir;
const { withEventDefsLock, withEventDefsLockSync } = await import('../../capture/event-defs-lock.js');
const LOCK = join(dir, 'migscope-tracefs-events.lock');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tracefs event-defs lock', () => {
  it('is held while the step runs, re-entrant, and released after it (also when it throws)', async () => {
    const inner = await withEventDefsLock(async () => {
      expect(existsSync(LOCK)).toBe(true);
      return withEventDefsLockSync(() => existsSync(LOCK));
    });
    expect(inner).toBe(true);
    expect(existsSync(LOCK)).toBe(false);
    expect(() =>
      withEventDefsLockSync(() => {
        throw new Error('step failed');
      }),
    ).toThrow('step failed');
    expect(existsSync(LOCK)).toBe(false);
  });

  it('waits for another live capture holding it, and runs only after that one released it', async () => {
    const released = join(dir, 'released');
    // The other capture: takes the lock, holds it a moment, notes that it lets go, lets go.
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const fs=require('fs');const st=fs.readFileSync('/proc/self/stat','utf8');const start=st.slice(st.lastIndexOf(')')+2).split(' ')[19];
         fs.mkdirSync(${JSON.stringify(LOCK)});fs.writeFileSync(${JSON.stringify(join(LOCK, 'owner'))}, process.pid+' '+start+'\\n');
         process.stdout.write('held\\n');
         setTimeout(()=>{fs.writeFileSync(${JSON.stringify(released)},'');fs.rmSync(${JSON.stringify(LOCK)},{recursive:true,force:true});},400);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((res) => child.stdout.once('data', () => res()));
    const sawRelease = await withEventDefsLock(async () => existsSync(released));
    expect(sawRelease).toBe(true);
    await new Promise((res) => child.once('exit', res));
  });

  it('takes over a lock whose owner is dead (a SIGKILLed capture) without waiting for it', () => {
    mkdirSync(LOCK);
    writeFileSync(join(LOCK, 'owner'), '999999999 12345\n'); // no such process
    const logs: string[] = [];
    expect(withEventDefsLockSync(() => existsSync(join(LOCK, 'owner')), (m) => logs.push(m))).toBe(true);
    expect(logs).toEqual([]);
    expect(existsSync(LOCK)).toBe(false);
  });
});
