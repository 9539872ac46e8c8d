// QEMU's command line as libvirt writes it into the per-VM log (/var/log/libvirt/qemu/<vm>.log,
// qemuProcessLaunch → qemuDomainLogContextWrite of virCommandToStringFull): the environment,
// the binary and its arguments, shell-quoted (virBufferEscapeShell: an argument with special
// characters in single quotes, a quote inside as '\''). Recent libvirt puts each argument
// on its own line ending in " \"; older releases, and tools that copy the line, write one
// line. Only the `-device` options that name a host device and have an id are read:
//
//   -device '{"driver":"vfio-pci","host":"0000:65:00.1","id":"hostdev0","bus":"pci.5","addr":"0x0"}'
//                    (libvirt ≥ 7.0 writes -device as JSON, qemuBuildDeviceCommandlineFromJSON)
//   -device vfio-pci,host=0000:65:00.1,id=hostdev0,bus=pci.5,addr=0x0
//                    (QEMU's key=value list; a comma inside a value is doubled: ",,")
//
// Parsers know formats, not VFIO: what the id and host mean is the decoder's business
// (src/decode/vm-devices.ts).

/** One `-device` with an id and a host device, values as written. */
export interface CommandLineDevice {
  readonly driver: string;
  readonly id: string;
  readonly host: string | undefined;
  readonly sysfsdev: string | undefined;
  readonly syntax: 'json' | 'keyval';
}

export type CommandLineLine =
  /** Not part of a command line. */
  | { readonly kind: 'other' }
  /** Part of one: the devices it carries (often none), and options that could not be read. */
  | { readonly kind: 'command-line'; readonly devices: readonly CommandLineDevice[]; readonly errors: readonly string[] };

/** The start of a command line: env assignments, then a QEMU binary (path optional), then an argument or the end. */
const BINARY = /^(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*(?:\S*\/)?(?:qemu-system-[\w.-]+|qemu-kvm)(?:\s|$)/;
/** The first line of the one-argument-a-line form: an environment assignment and the continuation. */
const ENV_CONTINUED = /^[A-Z_][A-Z0-9_]*=\S*\s+\\$/;
/** A command line is at most this many lines (libvirt's are a few hundred); past it, the rest is read as other lines. */
const MAX_LINES = 10_000;

/** Shell words of one line (single and double quotes, backslash escapes); a final lone "\" is the continuation, dropped. */
function words(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      const stop = end < 0 ? text.length : end;
      cur += text.slice(i + 1, stop);
      inWord = true;
      i = stop;
    } else if (c === '"') {
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        cur += text[i];
        i++;
      }
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 >= text.length) break; // the line continuation
      cur += text[++i];
      inWord = true;
    } else if (c === ' ' || c === '\t') {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

/** `vfio-pci,host=0000:65:00.1,id=hostdev0`: the driver (first element or driver=) and the properties; ",," is a comma. */
function keyval(v: string): Map<string, string> {
  const props = new Map<string, string>();
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < v.length; i++) {
    if (v[i] === ',' && v[i + 1] === ',') {
      cur += ',';
      i++;
    } else if (v[i] === ',') {
      parts.push(cur);
      cur = '';
    } else cur += v[i];
  }
  parts.push(cur);
  parts.forEach((p, i) => {
    const eq = p.indexOf('=');
    if (eq < 0) {
      if (i === 0) props.set('driver', p);
    } else props.set(p.slice(0, eq), p.slice(eq + 1));
  });
  return props;
}

function device(value: string): { readonly device?: CommandLineDevice; readonly error?: string } {
  let props: Map<string, string>;
  let syntax: CommandLineDevice['syntax'];
  if (value.startsWith('{')) {
    let v: unknown;
    try {
      v = JSON.parse(value);
    } catch {
      return { error: `-device option is not JSON: ${value.length > 60 ? `${value.slice(0, 60)}…` : value}` };
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return { error: '-device option is JSON but not an object' };
    props = new Map(Object.entries(v).flatMap(([k, x]) => (typeof x === 'string' ? [[k, x] as const] : [])));
    syntax = 'json';
  } else {
    props = keyval(value);
    syntax = 'keyval';
  }
  const driver = props.get('driver');
  const id = props.get('id');
  const host = props.get('host');
  const sysfsdev = props.get('sysfsdev');
  if (driver === undefined || id === undefined || id === '' || (host === undefined && sysfsdev === undefined)) return {};
  return { device: { driver, id, host, sysfsdev, syntax } };
}

/** Reads a log's lines in order; says of each whether it is part of a QEMU command line, and its host devices. */
export function createCommandLineReader(): { line(text: string): CommandLineLine } {
  /** Lines of the current command line so far; 0 when not in one. */
  let inside = 0;
  /** The last word of the previous command-line line was "-device": its value starts this line. */
  let pendingDevice = false;
  return {
    line(text) {
      const continues = inside > 0 && inside < MAX_LINES;
      if (!continues && !BINARY.test(text) && !ENV_CONTINUED.test(text)) {
        inside = 0;
        pendingDevice = false;
        return { kind: 'other' };
      }
      const trimmed = text.trimEnd();
      inside = trimmed.endsWith('\\') ? inside + 1 : 0;
      const devices: CommandLineDevice[] = [];
      const errors: string[] = [];
      const ws = words(trimmed);
      for (let i = 0; i < ws.length; i++) {
        const w = ws[i] as string;
        let value: string | undefined;
        if (pendingDevice) {
          pendingDevice = false;
          value = w;
        } else if (w === '-device' || w === '--device') {
          if (i + 1 >= ws.length) {
            pendingDevice = inside > 0;
            continue;
          }
          value = ws[++i];
        }
        if (value === undefined) continue;
        const d = device(value);
        if (d.device !== undefined) devices.push(d.device);
        if (d.error !== undefined) errors.push(d.error);
      }
      if (inside === 0) pendingDevice = false;
      return { kind: 'command-line', devices, errors };
    },
  };
}
