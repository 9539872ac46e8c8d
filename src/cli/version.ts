import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../capture/package-root.js';

/** migscope's version, from the package.json of the checkout or installed package. */
export const VERSION: string = versionOf(JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')));

// Checked by hand, not with zod: zod is loaded only for a config file (config-schema.ts).
function versionOf(pkg: unknown): string {
  if (typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string') return pkg.version;
  throw new Error('package.json has no "version" string');
}
