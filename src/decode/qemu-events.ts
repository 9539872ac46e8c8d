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

/**
 * One form of an event: the format string (after the name) and the QEMU release it comes
 * from. `generic` marks an event whose argument list is known but whose format string was
 * not checked against a release: it is read generically (see `generic`), never by a guessed
 * template.
 */
export interface EventForm {
  readonly release: string;
  readonly format: string | 'generic';
  /** The trace-events argument list, for the forms read generically (documentation and tests). */
  readonly args?: readonly string[];
}

const V1 = '5.2–7.2 (v1)';
const MULTIFD = '10.0 multifd (hw/vfio/trace-events, "vfio/migration: Multifd device state transfer support" series; docs/devel/migration/vfio.rst)';
const DEV_TREE = '11.1 cycle (pull-vfio-20260707; spec field-2026.md): arguments known, format unverified';

/**
 * The QEMU VFIO trace events migscope reads, with every form and the release it comes
 * from, most specific first (spec §4.2, §4.3; field-2026.md). Event names and argument
 * lists change between releases: this table is the one place that says how.
 */
export const QEMU_VFIO_EVENTS: Readonly<Record<string, readonly EventForm[]>> = {
  // Discovery (common.c)
  vfio_get_dev_region: [{ release: '5.2+ (the %0x8 typo and its fix %08x are both read)', format: '{device} index {index:n}, {type:x}/{subtype:x8}' }],
  vfio_region_setup: [{ release: '5.2+', format: 'Device {device}, region {index:n} "{name}", flags: {flags:n}, offset: {offset:n}, size: {size:n}' }],
  // v1 (QEMU 5.2 – 7.2) and their v2 successors
  vfio_migration_probe: [
    { release: V1, format: `${DEV} Region {index:n}` },
    { release: '8.0', format: DEV },
  ],
  vfio_migration_realize: [{ release: '~9.x', format: DEV }],
  vfio_migration_set_state: [
    // The samples' workload appends the two return codes; not seen in a QEMU release.
    { release: 'migscope lab workload (not a QEMU release)', format: `${DEV} new state {newState}, recover state {recoverState} ret {ret:n}/{recoverRet:n}` },
    { release: '~9.x', format: `${DEV} new state {newState}, recover state {recoverState}` },
    { release: V1, format: `${DEV} state {state:n}` },
    { release: '8.0', format: `${DEV} state {state}` },
  ],
  vfio_migration_v1_set_state: [{ release: '8.0 (v1 kept beside v2)', format: `${DEV} state {state:n}` }],
  vfio_migration_set_device_state: [{ release: '~9.x', format: `${DEV} state {state}` }],
  vfio_vmstate_change: [
    { release: V1, format: `${DEV} running {running:n} reason {reason} device state {deviceState:n}` },
    { release: '8.0', format: `${DEV} running {running:n} reason {reason} device state {deviceState}` },
  ],
  vfio_vmstate_change_prepare: [
    { release: '8.1', format: `${DEV} running {running:n} reason {reason} device state {deviceState:n}` },
    { release: '8.1', format: `${DEV} running {running:n} reason {reason} device state {deviceState}` },
  ],
  vfio_migration_state_notifier: [
    { release: '~9.x (MigrationEventType number)', format: `${DEV} state {state:n}` },
    { release: `${V1}, 8.0 (MigrationStatus string)`, format: `${DEV} state {state}` },
  ],
  vfio_migration_data_notifier: [{ release: '~9.x', format: `${DEV} stopcopy size {stopcopySize:n}` }],
  vfio_save_setup: [
    { release: '8.0', format: `${DEV} data buffer size {dataBufferSize:n}` },
    { release: V1, format: DEV },
  ],
  vfio_save_cleanup: [{ release: V1, format: DEV }],
  vfio_save_buffer: [{ release: V1, format: `${DEV} Offset {dataOffset:n} size {dataSize:n} pending {pending:n}` }],
  vfio_update_pending: [{ release: V1, format: `${DEV} pending {pending:n}` }],
  vfio_save_device_config_state: [{ release: V1, format: DEV }],
  vfio_save_pending: [
    // The samples' workload line: v1 fields plus the 8.1 exact-pending fields.
    { release: 'migscope lab workload (not a QEMU release)', format: `${DEV} precopy {precopy:n} postcopy {postcopy:n} compatible {compatible:n} stopcopy size {stopcopySize:n} precopy initial size {precopyInitialSize:n} precopy dirty size {precopyDirtySize:n}` },
    { release: V1, format: `${DEV} precopy {precopy:n} postcopy {postcopy:n} compatible {compatible:n}` },
  ],
  vfio_save_iterate: [
    { release: V1, format: `${DEV} data_size {dataSize:n}` },
    { release: '8.1', format: `${DEV} precopy initial size {precopyInitialSize:n} precopy dirty size {precopyDirtySize:n}` },
    { release: DEV_TREE, format: DEV },
  ],
  vfio_save_iterate_start: [{ release: DEV_TREE, format: DEV }],
  vfio_save_iterate_started: [{ release: '~9.x', format: DEV }],
  vfio_save_iterate_empty_hit: [{ release: '~9.x', format: DEV }],
  vfio_save_block: [{ release: '8.0', format: `${DEV} data_size {dataSize:n}` }],
  vfio_save_block_precopy_empty_hit: [{ release: '~9.x', format: DEV }],
  vfio_save_complete_precopy: [
    { release: '8.0', format: `${DEV} ret {ret:n}` },
    { release: V1, format: DEV },
  ],
  vfio_save_complete_precopy_start: [{ release: '10.0', format: DEV }],
  vfio_save_complete_precopy_started: [{ release: '~9.x', format: DEV }],
  vfio_state_pending_exact: [
    { release: '8.1', format: SAVE_PENDING_81 },
    { release: '8.0', format: `${DEV} precopy {precopy:n} postcopy {postcopy:n} stopcopy size {stopcopySize:n}` },
  ],
  vfio_state_pending_estimate: [{ release: '8.1', format: `${DEV} precopy {precopy:n} postcopy {postcopy:n} precopy initial size {precopyInitialSize:n} precopy dirty size {precopyDirtySize:n}` }],
  // Replaces _estimate/_exact in the 11.1 cycle; exact = 1 for the exact query, final = 1 for the last one before switchover.
  vfio_state_pending: [
    { release: DEV_TREE, format: 'generic', args: ['name', 'stopcopy_size', 'precopy_init_size', 'precopy_dirty_size', 'request_switchover_ack', 'exact', 'final'] },
  ],
  vfio_migration_init: [{ release: DEV_TREE, format: 'generic', args: ['name', 'mig_flags', 'precopy_info_v2_used', 'dirty_pages_supported'] }],
  // ret < 0, or size = 100 GiB (QEMU's sentinel when VFIO_DEVICE_FEATURE_MIG_DATA_SIZE fails): the size is unknown.
  vfio_query_stop_copy_size: [{ release: DEV_TREE, format: 'generic', args: ['name', 'size', 'ret'] }],
  vfio_query_precopy_size: [{ release: DEV_TREE, format: 'generic', args: ['name', 'init', 'dirty', 'reinit', 'ret'] }],
  vfio_load_device_config_state: [{ release: V1, format: DEV }],
  vfio_load_device_config_state_start: [{ release: MULTIFD, format: DEV }],
  vfio_load_device_config_state_end: [{ release: MULTIFD, format: DEV }],
  vfio_load_state: [{ release: V1, format: `${DEV} data {data:n}` }],
  vfio_load_state_device_data: [
    { release: V1, format: `${DEV} Offset {dataOffset:n} size {dataSize:n}` },
    { release: '8.0 (hex), ~9.x (decimal)', format: `${DEV} size {dataSize:n} ret {ret:n}` },
    { release: '8.0', format: `${DEV} size {dataSize:n}` },
  ],
  vfio_load_cleanup: [{ release: V1, format: DEV }],
  // Multifd device-state transfer (10.0): STOP_COPY data is read by a per-device thread and
  // sent in multifd packets, so there is no vfio_save_block during stop-copy.
  vfio_save_complete_precopy_thread_start: [{ release: MULTIFD, format: `${DEV} idstr {idstr} instance {instance:n}` }],
  vfio_save_complete_precopy_thread_end: [{ release: MULTIFD, format: `${DEV} ret {ret:n}` }],
  vfio_load_bufs_thread_start: [{ release: MULTIFD, format: DEV }],
  vfio_load_bufs_thread_end: [{ release: MULTIFD, format: DEV }],
  vfio_load_state_device_buffer_incoming: [{ release: MULTIFD, format: `${DEV} idx {idx:n}` }],
  vfio_load_state_device_buffer_start: [{ release: MULTIFD, format: DEV }],
  vfio_load_state_device_buffer_starved: [{ release: MULTIFD, format: `${DEV} idx {idx:n}` }],
  vfio_load_state_device_buffer_load_start: [{ release: MULTIFD, format: `${DEV} idx {idx:n}` }],
  vfio_load_state_device_buffer_load_end: [{ release: MULTIFD, format: `${DEV} idx {idx:n}` }],
  vfio_load_state_device_buffer_end: [{ release: MULTIFD, format: DEV }],
  vfio_get_dirty_bitmap: [
    { release: '~9.x', format: 'container fd={containerFd:n}, iova={iova:n} size= {size:n} bitmap_size={bitmapSize:n} start={start:n} dirty_pages={dirtyPages:n}' },
    { release: V1, format: 'container fd={containerFd:n}, iova={iova:n} size= {size:n} bitmap_size={bitmapSize:n} start={start:n}' },
    { release: 'upstream snapshot after ~9.x (no container fd)', format: 'iova={iova:n} size= {size:n} bitmap_size={bitmapSize:n} start={start:n} dirty_pages={dirtyPages:n}' },
  ],
  vfio_iommu_map_dirty_notify: [{ release: V1, format: 'iommu dirty @ {start:n} - {end:n}' }],
};

/** Known events → their template formats, most specific first; generic-only events are left out. */
const FORMATS: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  Object.entries(QEMU_VFIO_EVENTS)
    .map(([k, forms]) => [k, forms.flatMap((f) => (f.format === 'generic' ? [] : [f.format]))] as const)
    .filter(([, f]) => f.length > 0),
);

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
  // Each marker is read twice in a row, by the migration tracker and by the decoder
  // (src/cli/pipeline.ts): the second read gets the first's (readonly) result.
  if (text === memoText) return memoEvent;
  const ev = parseQemuEventText(text);
  memoText = text;
  memoEvent = ev;
  return ev;
}

let memoText: string | undefined;
let memoEvent: QemuEvent | undefined;

function parseQemuEventText(text: string): QemuEvent | undefined {
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
