import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../capture/package-root.js';

/** migscope's version, from the package.json of the checkout or installed package. */
export const VERSION: string = versionOf(JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as unknown);

function versionOf(pkg: unknown): string {
  const v: unknown = typeof pkg === 'object' && pkg !== null ? Reflect.get(pkg, 'version') : undefined;
  if (typeof v !== 'string') throw new Error(`${join(packageRoot(), 'package.json')}: no "version" string`);
  return v;
}
