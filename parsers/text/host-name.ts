// The host name an input says it was recorded on (issue 11, merging both hosts' inputs):
// a migscope capture header's `host=` (capture/bpftrace.ts, capture/ftrace.ts), trace.dat's
// UNAME option (trace-cmd's `sysname nodename release machine`), libvirt's `hostname:`
// start-up line. Each is untrusted text that ends up in the report and decides which
// inputs are merged, so it is checked here, once, for every parser.
//
// The charset is that of DNS host names (RFC 952/1123 letters, digits, hyphens, dots),
// plus the underscore that Linux nodenames and cloud hosts use in practice; the length is
// DNS's 253 (libvirt logs the FQDN virGetHostname found; a Linux nodename is at most 64,
// __NEW_UTS_LEN). Labels are 1..63 characters (RFC 1035 §2.3.4). Case is kept as written;
// names are compared case-insensitively by the merge (RFC 4343).

import type { ParserSink, Source } from '../../src/record/types.js';
import { formatSource } from '../../src/record/source-text.js';

export const MAX_HOST_NAME = 253;
const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/** A host name as given, or why it is not one (for a malformed-input problem). */
export type HostNameCheck = { readonly ok: true; readonly name: string } | { readonly ok: false; readonly error: string };

/** Bounded quote of untrusted text for a message. */
function quote(raw: string): string {
  return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);
}

export function checkHostName(raw: string): HostNameCheck {
  if (raw.length === 0) return { ok: false, error: 'empty host name' };
  if (raw.length > MAX_HOST_NAME) return { ok: false, error: `host name of ${raw.length} characters (at most ${MAX_HOST_NAME}): ${quote(raw)}` };
  // A trailing dot (an absolute DNS name) names the same host.
  const name = raw.endsWith('.') ? raw.slice(0, -1) : raw;
  const labels = name.split('.');
  if (labels.some((l) => !LABEL.test(l))) return { ok: false, error: `not a host name (letters, digits, '-', '_' and '.', labels of 1 to 63): ${quote(raw)}` };
  return { ok: true, name };
}

/**
 * The nodename of trace-cmd's UNAME option text, `"%s %s %s %s"` of uname(2)'s sysname,
 * nodename, release and machine (tracecmd/trace-record.c add_uname), e.g.
 * "Linux vm 6.18.44-fc-v1045 x86_64". None of the four holds a space on Linux except, in
 * principle, the nodename (sethostname takes any bytes): it is what lies between the first
 * and the last two words, and a space in it fails the check.
 */
export function unameNodename(text: string): HostNameCheck {
  const words = text.split(' ');
  if (words.length < 4) return { ok: false, error: `UNAME option is not "sysname nodename release machine": ${quote(text)}` };
  return checkHostName(words.slice(1, -2).join(' '));
}

/**
 * What a parser calls for each host name its input gives: the first good one goes to
 * sink.host with where it was read; a bad one, or a later one naming another host (two
 * captures concatenated?), is a malformed-input problem at its line or byte, and the first
 * name stands. `what` names the source ("capture header host=", "UNAME option").
 */
export function createHostReporter(sink: ParserSink): (raw: string, src: Source, what: string, tsNs?: bigint) => void {
  let first: { readonly name: string; readonly at: string } | undefined;
  return (raw, src, what, tsNs) => {
    const c = checkHostName(raw);
    const at = formatSource(src);
    const problem = (message: string): void => sink.malformed({ src, message, ...(tsNs !== undefined ? { tsNs } : {}) });
    if (!c.ok) return problem(`${what}: ${c.error}`);
    if (first === undefined) {
      first = { name: c.name, at };
      sink.host?.(c.name, `${what} (${at})`);
    } else if (first.name.toLowerCase() !== c.name.toLowerCase()) {
      problem(`${what} names host ${c.name}, but ${first.at} named ${first.name}: one input is one host's, ${first.name} is kept`);
    }
  };
}
