// The page's Content-Security-Policy (sent as a <meta> tag: a file opened from disk has no
// headers). Nothing may be fetched: default-src 'none' covers connect, img, font, frame,
// media and object loads. Only the exact inline scripts and styles the renderer wrote may
// run, pinned by their SHA-256 hashes (CSP3 §8.3 "hash-source"); a script that a hostile
// trace managed to smuggle into the markup would not match and would not run.

import { createHash } from 'node:crypto';

export function cspHash(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

export function contentSecurityPolicy(scripts: readonly string[], styles: readonly string[]): string {
  return [
    "default-src 'none'",
    `script-src ${scripts.map(cspHash).join(' ')}`,
    `style-src ${styles.map(cspHash).join(' ')}`,
    "img-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}
