// Whether terminal output gets ANSI colours: --no-color, then the conventions scripts and
// CI set (https://no-color.org: NO_COLOR non-empty disables; FORCE_COLOR enables, "0" or
// "false" disables; FORCE_COLOR wins, as in Node's own tty.WriteStream.getColorDepth), then
// whether the stream is a terminal that has colours (tty hasColors(), which also reads
// TERM=dumb).

export function useColor(flag: boolean | undefined, stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (flag === false) return false;
  const force = env['FORCE_COLOR'];
  if (force !== undefined) return !['0', 'false'].includes(force.toLowerCase());
  const no = env['NO_COLOR'];
  if (no !== undefined && no !== '') return false;
  if (stream.isTTY !== true) return false;
  return typeof stream.hasColors === 'function' ? stream.hasColors(env) : true;
}
