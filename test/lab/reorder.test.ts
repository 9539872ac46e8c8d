// capture/reorder.ts: lines from several CPUs' buffers come out in timestamp order.
import { describe, expect, it } from 'vitest';
import { bpftraceLineSource, createReorderer } from '../../capture/reorder.js';

function run(pushes: readonly { at: bigint; line: string }[], hold: bigint, endAt: bigint): string[] {
  const out: string[] = [];
  let now = 0n;
  const r = createReorderer(bpftraceLineSource, (l) => out.push(l), hold, () => now);
  for (const p of pushes) {
    now = p.at;
    r.push(p.line);
    r.tick();
  }
  now = endAt;
  r.tick();
  return out;
}

describe('reorderer', () => {
  it('puts a record that arrives after a later one back in order', () => {
    const out = run(
      [
        { at: 100n, line: '20 pread64 pid=1 tid=1' },
        { at: 101n, line: '10 pwrite64 pid=1 tid=1' },
      ],
      500n,
      1000n,
    );
    expect(out).toEqual(['10 pwrite64 pid=1 tid=1', '20 pread64 pid=1 tid=1']);
  });

  it('keeps arrival order when records are already ordered, and holds nothing past the end', () => {
    const lines = ['1 a pid=1', '# comment', '2 b pid=1', 'Lost 3 events', '3 c pid=1'];
    const out = run(lines.map((line, i) => ({ at: BigInt(i + 1), line })), 0n, 100n);
    expect(out).toEqual(lines);
  });

  it('releases a line that is too late at once instead of holding it', () => {
    const out: string[] = [];
    let now = 1000n;
    const r = createReorderer(bpftraceLineSource, (l) => out.push(l), 100n, () => now);
    r.push('10 late pid=1');
    expect(out).toEqual(['10 late pid=1']);
    r.push('950 fresh pid=1');
    expect(out).toHaveLength(1);
    now = 1100n;
    r.tick();
    expect(out).toEqual(['10 late pid=1', '950 fresh pid=1']);
  });

  it('reads timestamps from JSON printf records too', () => {
    expect(bpftraceLineSource.tsOf('{"type": "printf", "data": "123 ioctl pid=1\\n"}')).toBe(123n);
    expect(bpftraceLineSource.tsOf('{"type": "attached_probes", "data": {"probes": 3}}')).toBeUndefined();
  });
});
