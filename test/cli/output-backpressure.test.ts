import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { waitForOutput } from '../../src/cli/output-backpressure.js';

/** A stream whose buffer is full (write() returned false): what stdout is behind a slow reader. */
function fullStream(): PassThrough {
  const s = new PassThrough({ highWaterMark: 16 });
  while (s.write('x'.repeat(16))) {
    /* fill */
  }
  return s;
}

const never = new Promise<never>(() => {});
const settled = async (p: Promise<void>): Promise<boolean> => {
  let done = false;
  void p.then(() => (done = true));
  // Let every queued callback run: a promise that could resolve now has by then.
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
  return done;
};

describe('waitForOutput (watch - stops reading while its stdout is full)', () => {
  it('returns at once when nothing waits to be written', async () => {
    expect(await settled(waitForOutput(new PassThrough(), never))).toBe(true);
  });

  it('waits while the output is full and resumes when the reader drains it', async () => {
    const s = fullStream();
    const p = waitForOutput(s, never);
    expect(await settled(p)).toBe(false);
    s.resume(); // the reader catches up
    expect(await settled(p)).toBe(true);
  });

  it('never hangs on a gone reader or a stop signal', async () => {
    const closed = fullStream();
    const p1 = waitForOutput(closed, never);
    closed.destroy();
    expect(await settled(p1)).toBe(true);
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const p2 = waitForOutput(fullStream(), stopped);
    expect(await settled(p2)).toBe(false);
    stop();
    expect(await settled(p2)).toBe(true);
  });
});
