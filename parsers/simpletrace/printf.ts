// Enough of C's printf to print a QEMU trace event's format with simpletrace's values:
// conversions d i u o x X c s p with the flags - 0 # and a width, and the length modifiers
// hh h l ll z j t (ignored: simpletrace stores every non-string argument as a u64, so the
// argument's declared C type decides the width the value is cut to, like the C cast
// did). Anything else is printed as written, never guessed.

export type PrintfArg = { readonly s: string } | { readonly n: bigint; readonly bits: number; readonly signed: boolean };

/** Bits of a C type as QEMU's trace events use them (bool, int, uint32_t, size_t, pointers …). */
export function cTypeBits(type: string): { bits: number; signed: boolean } {
  const t = type.replace(/\bconst\b/g, '').trim();
  if (t.includes('*')) return { bits: 64, signed: false };
  if (/^(?:bool|_Bool)$/.test(t)) return { bits: 8, signed: false };
  if (/^(?:int8_t|signed char|char)$/.test(t)) return { bits: 8, signed: true };
  if (/^(?:uint8_t|unsigned char)$/.test(t)) return { bits: 8, signed: false };
  if (/^(?:int16_t|short|short int)$/.test(t)) return { bits: 16, signed: true };
  if (/^(?:uint16_t|unsigned short)$/.test(t)) return { bits: 16, signed: false };
  if (/^(?:int|int32_t|signed|signed int)$/.test(t)) return { bits: 32, signed: true };
  if (/^(?:unsigned|unsigned int|uint32_t)$/.test(t)) return { bits: 32, signed: false };
  if (/^(?:int64_t|long|long int|long long|ssize_t|off_t|intptr_t)$/.test(t)) return { bits: 64, signed: true };
  return { bits: 64, signed: false };
}

function asUnsigned(n: bigint, bits: number): bigint {
  return BigInt.asUintN(bits, n);
}

export function cPrintf(format: string, args: readonly PrintfArg[]): string | undefined {
  let out = '';
  let ai = 0;
  const re = /%([-0#+ ]*)(\d*)(?:\.(\d+))?(hh|h|ll|l|z|j|t)?([diouxXcsp%])/g;
  let last = 0;
  for (const m of format.matchAll(re)) {
    out += format.slice(last, m.index);
    last = m.index + m[0].length;
    const conv = m[5] ?? '';
    if (conv === '%') {
      out += '%';
      continue;
    }
    const a = args[ai++];
    if (a === undefined) return undefined;
    const flags = m[1] ?? '';
    const width = Number(m[2] ?? '0') || 0;
    let body: string;
    if (conv === 's') {
      if (!('s' in a)) return undefined;
      body = a.s;
    } else {
      if (!('n' in a)) return undefined;
      const u = asUnsigned(a.n, a.bits);
      switch (conv) {
        case 'd':
        case 'i':
          body = BigInt.asIntN(a.bits, a.n).toString();
          break;
        case 'u':
          body = u.toString();
          break;
        case 'o':
          body = u.toString(8);
          break;
        case 'x':
          body = (flags.includes('#') && u !== 0n ? '0x' : '') + u.toString(16);
          break;
        case 'X':
          body = (flags.includes('#') && u !== 0n ? '0X' : '') + u.toString(16).toUpperCase();
          break;
        case 'c':
          body = String.fromCharCode(Number(u & 0xffn));
          break;
        case 'p':
          body = u === 0n ? '(nil)' : `0x${u.toString(16)}`;
          break;
        default:
          return undefined;
      }
    }
    if (body.length < width) {
      if (flags.includes('-')) body = body.padEnd(width);
      else if (flags.includes('0') && conv !== 's') body = body.startsWith('-') ? '-' + body.slice(1).padStart(width - 1, '0') : body.padStart(width, '0');
      else body = body.padStart(width);
    }
    out += body;
  }
  return out + format.slice(last);
}
