/** Exhaustiveness check for switch statements over unions (STYLE.md). */
export function assertNever(x: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(x)}`);
}
