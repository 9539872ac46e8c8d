// Fails when a module imports against DESIGN.md's data flow (STYLE.md "Layers you can see
// from the folder list"); the check is test/architecture/import-layers.ts. Its "can fail"
// case runs that same check on a throwaway tree whose files import upward in every form.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importsOf, layer, layerViolations } from './import-layers.js';

const root = resolve(import.meta.dirname, '../..');

describe('layering', () => {
  it('has no import against the data flow', () => {
    expect(layerViolations(root)).toEqual([]);
  });

  describe('the check itself can fail', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'migscope-layers-'));
    afterAll(() => rmSync(tmp, { recursive: true, force: true }));
    const write = (rel: string, text: string): void => {
      mkdirSync(dirname(join(tmp, rel)), { recursive: true });
      writeFileSync(join(tmp, rel), text);
    };
    // A parser that reaches up into the tracker, the checker and the CLI, each in another way.
    write(
      'parsers/evil.ts',
      [
        "// import { x } from '../src/cli/main.js';  (a comment: not an import)",
        "const quoted = \"require('../src/cli/main.js')\";",
        "import { createTracker } from '../src/track/tracker.js';",
        "import '../src/check/index.js';",
        "export * from '../src/report/json.js';",
        "const later = await import('../src/export/index.js');",
        "const cjs = require('../src/cli/pipeline.js');",
        "import legacy = require('../src/decode/decoder.js');",
        "type T = import('../src/track/types.js').DeviceTimeline;",
        'const name = "x"; const computed = await import(name);',
        "import { ok } from '../src/record/types.js';",
        "import { ok2 } from './bpftrace.js';",
        "import { readFileSync } from 'node:fs';",
      ].join('\n'),
    );
    // Same layer, downward: allowed.
    write('src/check/fine.ts', "import type { DeviceTimeline } from '../track/types.js';\nconst d = await import('../decode/ops.js');\n");
    // Sibling of the same rank: report may not import export.
    write('src/report/sibling.ts', "const e = require('../export/index.js');\n");

    it('reports every upward import form, with its line, and nothing else', () => {
      // src/ is scanned before parsers/
      expect(layerViolations(tmp)).toEqual([
        'src/report/sibling.ts:1: require() of src/export/index.js (layer src/export/ may not be imported from src/report/)',
        'parsers/evil.ts:3: import of src/track/tracker.js (layer src/track/ may not be imported from parsers/)',
        'parsers/evil.ts:4: bare import of src/check/index.js (layer src/check/ may not be imported from parsers/)',
        'parsers/evil.ts:5: export from of src/report/json.js (layer src/report/ may not be imported from parsers/)',
        'parsers/evil.ts:6: dynamic import() of src/export/index.js (layer src/export/ may not be imported from parsers/)',
        'parsers/evil.ts:7: require() of src/cli/pipeline.js (layer src/cli/ may not be imported from parsers/)',
        'parsers/evil.ts:8: import = require of src/decode/decoder.js (layer src/decode/ may not be imported from parsers/)',
        'parsers/evil.ts:9: import() type of src/track/types.js (layer src/track/ may not be imported from parsers/)',
        'parsers/evil.ts:10: dynamic import() with a computed specifier cannot be checked against the layers',
      ]);
    });

    it('the layer table follows STYLE.md', () => {
      const rank = (p: string): number => layer(p)?.rank ?? -1;
      const flow = ['parsers/x.ts', 'src/decode/x.ts', 'src/track/x.ts', 'src/check/x.ts', 'src/report/x.ts', 'src/cli/x.ts'];
      for (let i = 1; i < flow.length; i++) expect(rank(flow[i] ?? '')).toBeGreaterThan(rank(flow[i - 1] ?? ''));
      expect(rank('src/protocol/x.ts')).toBe(0);
      expect(rank('src/export/x.ts')).toBe(rank('src/report/x.ts'));
    });

    it('reads imports from the syntax tree: comments and strings are not imports', () => {
      expect(importsOf('a.ts', "// import '../x.js'\nconst s = 'require(\"../y.js\")';\nimport '../z.js';\n")).toEqual([{ specifier: '../z.js', how: 'bare import', line: 3 }]);
    });
  });
});
