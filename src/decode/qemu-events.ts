// QEMU's VFIO trace events, as text: the line QEMU's log backend prints after its
// optional `PID@SEC.USEC:` prefix, and the text QEMU's ftrace backend writes to
// trace_marker. Both are `"<event> " FMT` (spec vfio-migration §4.1), and most VFIO
// formats start with " (%s)", hence two spaces after the name.
//
// Each known event has the format strings of the QEMU releases that had it (spec §4.2
// v1-era, §4.3 v2-era), tried from the most specific. Numbers are accepted in hex
// (`0x%PRIx64`, older releases) and decimal (`%PRIu64`, ~9.x) wherever the format has a
// number. Events listed as unverified in spec §4.3 (newer development trees) and
// unknown vfio_* events are read generically: the device in parentheses, and each run
// of label words followed by a number becomes one argument (`stopcopy size 0x1000` →
// stopcopySize).
//
// Argument names (keys of `args`) are the format's own words in camelCase:
//   state (v1: bigint device_state; v2 8.0: string like "STOP_COPY"), newState,
//   recoverState, running, reason, deviceState, index, pending, dataOffset, dataSize,
//   precopy, postcopy, compatible, stopcopySize, precopyInitialSize, precopyDirtySize,
//   dataBufferSize, data, ret, type, subtype, name, flags, offset, size, containerFd,
//   iova, bitmapSize, start, end, dirtyPages.

export interface QemuEvent {
  readonly event: string;
  /** vbasedev->name: the host BDF or mdev UUID, when the event names a device. */
  readonly device: string | undefined;
  readonly args: Readonly<Record<string, bigint | string>>;
}

type SlotType = 's' | 'n' | 'x' | 'x8';
type Part = { readonly lit: string } | { readonly slot: string; readonly type: SlotType };

/** `({device}) Offset {dataOffset:n}` → literal and slot parts. */
function compile(template: string): readonly Part[] {
  const parts: Part[] = [];
  const re = /\{(\w+)(?::(s|n|x|x8))?\}/g;
  let last = 0;
  for (const m of template.matchAll(re)) {
    if (m.index > last) parts.push({ lit: template.slice(last, m.index) });
    const type = m[2];
    parts.push({ slot: m[1] ?? '', type: type === 'n' || type === 'x' || type === 'x8' ? type : 's' });
    last = m.index + m[0].length;
  }
  if (last < template.length) parts.push({ lit: template.slice(last) });
  return parts;
}

const DEV = '({device})';
const SAVE_PENDING_81 = `${DEV} precopy {precopy:n} postcopy {postcopy:n} stopcopy size {stopcopySize:n} precopy initial size {precopyInitialSize:n} precopy dirty size {precopyDirtySize:n}`;

/** Known events → their formats, most specific first (spec §4.2, §4.3). */
const FORMATS: Readonly<Record<string, readonly string[]>> = {
  // Discovery (common.c)
  vfio_get_dev_region: ['{device} index {index:n}, {type:x}/{subtype:x8}'],
  vfio_region_setup: ['Device {device}, region {index:n} "{name}", flags: {flags:n}, offset: {offset:n}, size: {size:n}'],
  // v1 (QEMU 5.2 – 7.2) and their v2 successors
  vfio_migration_probe: [`${DEV} Region {index:n}`, DEV],
  vfio_migration_realize: [DEV],
  vfio_migration_set_state: [
    // The samples' workload appends the two return codes; not seen in a QEMU release.
    `${DEV} new state {newState}, recover state {recoverState} ret {ret:n}/{recoverRet:n}`,
    `${DEV} new state {newState}, recover state {recoverState}`,
    `${DEV} state {state:n}`,
    `${DEV} state {state}`,
  ],
  vfio_migration_v1_set_state: [`${DEV} state {state:n}`],
  vfio_migration_set_device_state: [`${DEV} state {state}`],
  vfio_vmstate_change: [`${DEV} running {running:n} reason {reason} device state {deviceState:n}`, `${DEV} running {running:n} reason {reason} device state {deviceState}`],
  vfio_vmstate_change_prepare: [`${DEV} running {running:n} reason {reason} device state {deviceState:n}`, `${DEV} running {running:n} reason {reason} device state {deviceState}`],
  vfio_migration_state_notifier: [`${DEV} state {state:n}`, `${DEV} state {state}`],
  vfio_migration_data_notifier: [`${DEV} stopcopy size {stopcopySize:n}`],
  vfio_save_setup: [`${DEV} data buffer size {dataBufferSize:n}`, DEV],
  vfio_save_cleanup: [DEV],
  vfio_save_buffer: [`${DEV} Offset {dataOffset:n} size {dataSize:n} pending {pending:n}`],
  vfio_update_pending: [`${DEV} pending {pending:n}`],
  vfio_save_device_config_state: [DEV],
  vfio_save_pending: [
    // The samples' workload line: v1 fields plus the 8.1 exact-pending fields.
    `${DEV} precopy {precopy:n} postcopy {postcopy:n} compatible {compatible:n} stopcopy size {stopcopySize:n} precopy initial size {precopyInitialSize:n} precopy dirty size {precopyDirtySize:n}`,
    `${DEV} precopy {precopy:n} postcopy {postcopy:n} compatible {compatible:n}`,
  ],
  vfio_save_iterate: [`${DEV} data_size {dataSize:n}`, `${DEV} precopy initial size {precopyInitialSize:n} precopy dirty size {precopyDirtySize:n}`, DEV],
  vfio_save_iterate_started: [DEV],
  vfio_save_iterate_empty_hit: [DEV],
  vfio_save_block: [`${DEV} data_size {dataSize:n}`],
  vfio_save_complete_precopy: [`${DEV} ret {ret:n}`, DEV],
  vfio_save_complete_precopy_started: [DEV],
  vfio_state_pending_exact: [SAVE_PENDING_81, `${DEV} precopy {precopy:n} postcopy {postcopy:n} stopcopy size {stopcopySize:n}`],
  vfio_state_pending_estimate: [`${DEV} precopy {precopy:n} postcopy {postcopy:n} precopy initial size {precopyInitialSize:n} precopy dirty size {precopyDirtySize:n}`],
  vfio_load_device_config_state: [DEV],
  vfio_load_state: [`${DEV} data {data:n}`],
  vfio_load_state_device_data: [`${DEV} Offset {dataOffset:n} size {dataSize:n}`, `${DEV} size {dataSize:n} ret {ret:n}`, `${DEV} size {dataSize:n}`],
  vfio_load_cleanup: [DEV],
  vfio_get_dirty_bitmap: [
    'container fd={containerFd:n}, iova={iova:n} size= {size:n} bitmap_size={bitmapSize:n} start={start:n} dirty_pages={dirtyPages:n}',
    'container fd={containerFd:n}, iova={iova:n} size= {size:n} bitmap_size={bitmapSize:n} start={start:n}',
  ],
  vfio_iommu_map_dirty_notify: ['iommu dirty @ {start:n} - {end:n}'],
};

const COMPILED: ReadonlyMap<string, readonly (readonly Part[])[]> = new Map(Object.entries(FORMATS).map(([k, v]) => [k, v.map(compile)]));

const NUM = /^(?:-?0x[0-9a-fA-F]{1,16}|-?\d{1,20})$/;

function num(text: string): bigint | undefined {
  if (!NUM.test(text)) return undefined;
  return text.startsWith('-') ? -BigInt(text.slice(1)) : BigInt(text);
}

function convert(text: string, type: SlotType): bigint | string | undefined {
  switch (type) {
    case 's':
      return text;
    case 'n':
      return num(text);
    case 'x':
      return /^[0-9a-fA-F]{1,16}$/.test(text) ? BigInt('0x' + text) : undefined;
    case 'x8':
      // vfio_get_dev_region's subtype was printed with "%0x8" (a typo for %08x, spec
      // §4.2): the hex value then a literal "8", e.g. "18" for subtype 1. Fixed releases
      // print exactly 8 digits.
      if (/^[0-9a-fA-F]{8}$/.test(text)) return BigInt('0x' + text);
      if (/^[0-9a-fA-F]{1,8}8$/.test(text)) return BigInt('0x' + text.slice(0, -1));
      return undefined;
  }
}

/** Match `rest` against one compiled format: literals exactly, slots lazily up to the next literal. */
function match(rest: string, parts: readonly Part[]): { device: string | undefined; args: Record<string, bigint | string> } | undefined {
  let pos = 0;
  let device: string | undefined;
  const args: Record<string, bigint | string> = {};
  for (let k = 0; k < parts.length; k++) {
    const p = parts[k];
    if (p === undefined) return undefined;
    if ('lit' in p) {
      if (!rest.startsWith(p.lit, pos)) return undefined;
      pos += p.lit.length;
      continue;
    }
    const next = parts[k + 1];
    let end: number;
    if (next === undefined) end = rest.length;
    else if ('lit' in next) end = rest.indexOf(next.lit, pos);
    else return undefined; // two adjacent slots: not in any format
    if (end < 0) return undefined;
    const text = rest.slice(pos, end);
    if (p.slot === 'device') {
      if (text.length === 0) return undefined;
      device = text;
    } else {
      const v = convert(text, p.type);
      if (v === undefined) return undefined;
      args[p.slot] = v;
    }
    pos = end;
  }
  return pos === rest.length ? { device, args } : undefined;
}

/** Best-effort reading of an event without a known format: "(dev)" then "label words NUMBER" runs. */
function generic(rest: string): { device: string | undefined; args: Record<string, bigint | string> } {
  let device: string | undefined;
  let body = rest;
  if (body.startsWith('(')) {
    const close = body.indexOf(')');
    if (close > 1) {
      device = body.slice(1, close);
      body = body.slice(close + 1);
    }
  }
  const args: Record<string, bigint | string> = {};
  let words: string[] = [];
  for (const raw of body.split(/[\s,]+/)) {
    if (raw === '') continue;
    const eq = raw.indexOf('=');
    const [label, value] = eq > 0 ? [raw.slice(0, eq), raw.slice(eq + 1)] : [undefined, raw];
    if (label !== undefined) words.push(label);
    const v = num(value);
    if (v !== undefined && words.length > 0) {
      args[camel(words)] = v;
      words = [];
    } else if (label === undefined) {
      words.push(value);
    }
  }
  return { device, args };
}

function camel(words: readonly string[]): string {
  return words
    .map((w) => w.replace(/[^A-Za-z0-9_]/g, ''))
    .filter((w) => w !== '')
    .map((w, i) => (i === 0 ? w.charAt(0).toLowerCase() + w.slice(1) : w.charAt(0).toUpperCase() + w.slice(1)))
    .join('')
    .replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * Parse one QEMU VFIO trace event line (without any log prefix). Returns undefined for a
 * line that is not a `vfio_*` event, or a known event in none of its known formats (a
 * garbled line or an unknown QEMU version: its values must not be guessed).
 */
export function parseQemuEvent(text: string): QemuEvent | undefined {
  if (!text.startsWith('vfio_')) return undefined;
  let sp = 0;
  while (sp < text.length && text.charCodeAt(sp) !== 32) sp++;
  const event = text.slice(0, sp);
  if (!/^vfio_\w+$/.test(event)) return undefined;
  let i = sp;
  while (i < text.length && text.charCodeAt(i) === 32) i++;
  const rest = text.slice(i).trimEnd();
  const formats = COMPILED.get(event);
  if (formats === undefined) {
    const g = generic(rest);
    return { event, device: g.device, args: g.args };
  }
  for (const parts of formats) {
    const m = match(rest, parts);
    if (m !== undefined) return { event, device: m.device, args: m.args };
  }
  return undefined;
}
