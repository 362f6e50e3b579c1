// Test helper: a CliIo that keeps what a command prints.
import type { CliIo } from '../index';

/**
 * A CliIo collecting stdout and stderr text.
 *
 * @returns The io and the two lists it fills.
 */
export function capture(): { io: CliIo; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t) => out.push(t), err: (t) => err.push(t) }, out, err };
}
