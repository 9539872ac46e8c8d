// QEMU's trace-events file format (docs/devel/tracing.rst; scripts/tracetool/__init__.py):
//
//   # comment
//   [disable] name(type1 arg1, type2 arg2) "format" "more format" PRIx64 …
//
// e.g. `vfio_load_state_device_data(const char *name, uint64_t data_size, int ret) " (%s) size 0x%"PRIx64" ret %d"`.
// A simpletrace file names its events (mapping records) but stores only raw argument
// values; this file gives each event's argument types and format so the record can be
// printed as the log backend would have printed it. Strings are args whose type is a
// `char *` with exactly one `*` (tracetool/backend/simple.py is_string).

export interface TraceEventDef {
  readonly name: string;
  readonly args: readonly { readonly type: string; readonly name: string; readonly isString: boolean }[];
  /** The C format with PRI macros already turned into conversion letters. */
  readonly format: string;
}

const LINE = /^\s*(?:(?:disable|tcg-exec|tcg-trans|vcpu|tcg)\s+)*([A-Za-z_]\w*)\((.*?)\)\s*(".*)?$/;

function isString(type: string): boolean {
  const t = type.trim();
  return /^(?:const\s+)?char\s*\*$/.test(t) && (t.match(/\*/g) ?? []).length === 1;
}

/** `" (%s) size 0x%"PRIx64" ret %d"` → ` (%s) size 0x%llx ret %d`. */
export function cFormat(spec: string): string | undefined {
  let out = '';
  let i = 0;
  while (i < spec.length) {
    const c = spec[i];
    if (c === ' ' || c === '\t') {
      i++;
    } else if (c === '"') {
      i++;
      while (i < spec.length && spec[i] !== '"') {
        if (spec[i] === '\\' && i + 1 < spec.length) {
          const e = spec[i + 1];
          out += e === 'n' ? '\n' : e === 't' ? '\t' : (e ?? '');
          i += 2;
        } else out += spec[i++];
      }
      if (spec[i] !== '"') return undefined;
      i++;
    } else {
      const m = /^PRI([diouxX])(?:8|16|32|64|PTR|MAX)/.exec(spec.slice(i));
      if (m === null) return undefined;
      out += `ll${m[1]}`;
      i += m[0].length;
    }
  }
  return out;
}

export interface TraceEventsParse {
  readonly events: ReadonlyMap<string, TraceEventDef>;
  readonly problems: readonly { readonly line: number; readonly message: string }[];
}

export function parseTraceEvents(text: string): TraceEventsParse {
  const events = new Map<string, TraceEventDef>();
  const problems: { line: number; message: string }[] = [];
  text.split('\n').forEach((raw, idx) => {
    const l = raw.trim();
    if (l === '' || l.startsWith('#')) return;
    const m = LINE.exec(l);
    if (m === null) {
      problems.push({ line: idx + 1, message: `not a trace event declaration: ${JSON.stringify(l.slice(0, 60))}` });
      return;
    }
    const argText = (m[2] ?? '').trim();
    const args =
      argText === '' || argText === 'void'
        ? []
        : argText.split(',').map((a) => {
            const t = a.trim();
            const nm = /([A-Za-z_]\w*)$/.exec(t);
            const name = nm?.[1] ?? '';
            const type = t.slice(0, t.length - name.length).trim();
            return { type, name, isString: isString(type) };
          });
    const format = cFormat(m[3] ?? '""');
    if (format === undefined) {
      problems.push({ line: idx + 1, message: `cannot read the format of ${m[1] ?? ''}` });
      return;
    }
    events.set(m[1] ?? '', { name: m[1] ?? '', args, format });
  });
  return { events, problems };
}
