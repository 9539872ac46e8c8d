// Reading until a stop request (cli/until-stopped.ts): every chunk comes through, a stop
// ends the reading (also while a read is pending), and chunks already read are not kept
// reachable by the stop promise (issue 13: Promise.race per chunk kept every chunk of a
// 470 MB input until the end).

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { untilStopped } from '../../src/cli/until-stopped.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function* chunks(n: number, refs?: WeakRef<Buffer>[]): AsyncGenerator<Buffer> {
  for (let i = 0; i < n; i++) {
    const b = Buffer.alloc(64 * 1024, i);
    refs?.push(new WeakRef(b));
    yield b;
    await new Promise((r) => setImmediate(r));
  }
}

describe('untilStopped', () => {
  it('passes every chunk on while no stop comes', async () => {
    let n = 0;
    for await (const c of untilStopped(chunks(20), new Promise(() => {}))) n += c.length;
    expect(n).toBe(20 * 64 * 1024);
  });

  it('ends when the stop resolves, even with a read pending', async () => {
    let stop: (v?: unknown) => void = () => {};
    const stopped = new Promise((r) => (stop = r));
    async function* idle(): AsyncGenerator<Buffer> {
      yield Buffer.from('first');
      await new Promise(() => {}); // an idle stdin: never another chunk
    }
    const got: string[] = [];
    for await (const c of untilStopped(idle(), stopped)) {
      got.push(String(c));
      stop();
    }
    expect(got).toEqual(['first']);
  });

  it('does not keep chunks it passed on reachable through the pending stop', async () => {
    const refs: WeakRef<Buffer>[] = [];
    const never = new Promise(() => {});
    for await (const c of untilStopped(chunks(40, refs), never)) expect(c.length).toBe(64 * 1024);
    // Let the last reactions settle, then collect: the chunks read are garbage.
    await new Promise((r) => setImmediate(r));
    gc();
    await new Promise((r) => setImmediate(r));
    gc();
    const alive = refs.filter((r) => r.deref() !== undefined).length;
    expect(refs.length).toBe(40);
    // With a race per chunk every one of them stayed reachable from `never`.
    expect(alive).toBeLessThanOrEqual(2);
  });
});
