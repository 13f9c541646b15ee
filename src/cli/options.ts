// Parsers for repeatable command-line options shared by the commands.
import { UsageError } from '../errors.js';

/** `--replace a=b --replace c=d` → { a: 'b', c: 'd' }. */
export function collectPair(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0 || eq === value.length - 1) throw new UsageError('DF_USAGE', `expected NAME=VALUE (e.g. IMAGE_PATH=LOCAL_FILE), got '${value}'`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

/** `--remove a --remove b` → ['a', 'b']. */
export function collectList(value: string, previous: string[]): string[] {
  return [...previous, value];
}
