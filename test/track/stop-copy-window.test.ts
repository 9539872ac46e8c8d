// A save's stop-copy window as the head a spilled session keeps before it (track/stop-copy-window.ts):
// the text reads back as the window windowOf gives, exactly (bigints past 64 bits, no input file),
// and a session without a whole window has none.

import { describe, expect, it } from 'vitest';
import { windowFromHead, windowHead, windowOf } from '../../src/track/stop-copy-window.js';
import type { MigrationSession } from '../../src/track/types.js';

function session(conv: Record<string, unknown> | undefined, file: string | undefined): MigrationSession {
  return { kind: 'save', ...(file !== undefined ? { src: { file, line: 1 } } : {}), ...(conv !== undefined ? { convergence: conv } : {}) } as unknown as MigrationSession;
}

describe('stop-copy window head', () => {
  it('reads back as the window of the session, exactly', () => {
    const cases = [
      session({ stopCopyStartNs: 5n, stopCopyEndNs: 9n, actualStopCopyNs: 4n }, 'trace "a".dat'),
      session({ stopCopyStartNs: 2n ** 70n, stopCopyEndNs: 2n ** 70n + 3n, actualStopCopyNs: 7n }, 'ünïcode/trace.txt'),
      session({ stopCopyStartNs: 0n, stopCopyEndNs: 0n, actualStopCopyNs: 0n }, undefined),
    ];
    for (const s of cases) {
      const head = windowHead(s);
      expect(head).not.toBe('');
      expect(windowFromHead('dev', head)).toStrictEqual(windowOf('dev', s));
    }
    expect(windowFromHead('dev', windowHead(cases[2] as MigrationSession))?.file).toBeUndefined();
  });

  it('is empty for a session without a whole window, and reads back as none', () => {
    for (const s of [session(undefined, 'x'), session({ stopCopyStartNs: 1n, stopCopyEndNs: 2n }, 'x'), session({ stopCopyStartNs: 1n, actualStopCopyNs: 1n }, 'x')]) {
      expect(windowOf('dev', s)).toBeUndefined();
      expect(windowHead(s)).toBe('');
      expect(windowFromHead('dev', '')).toBeUndefined();
    }
  });
});
