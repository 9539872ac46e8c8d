// The `host=NAME` field of a capture's header line (docs/capture-format.md, docs/tracers.md):
// the host the capture was taken on, so that `migscope analyze` can tell two hosts' captures
// apart and merge each with its own host's QEMU and libvirt logs (src/cli/input-merge.ts).
//
// The name is os.hostname(), i.e. uname(2)'s nodename, the name trace-cmd's UNAME option
// carries too. A header field is one word: a nodename with a space or a control character
// (sethostname accepts any bytes) would be misread, so it is left out instead, and the
// capture reads as one that does not name its host. The reader checks the name again
// (parsers/text/host-name.ts): this module may not import parsers (layers).

import { hostname } from 'node:os';

/** ` host=NAME` for a header line, or '' when the host's name cannot be written as one word. */
export function hostField(name: string | undefined = hostname()): string {
  return /^[\x21-\x7e]{1,253}$/.test(name) ? ` host=${name}` : '';
}
