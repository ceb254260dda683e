/**
 * The times --since and --until take, as Docker reads them: an RFC 3339
 * date, a Unix timestamp (seconds, with optional fraction), or a duration
 * before now such as 10m, 1h30m or 90s.
 */
import { InvalidArgumentError } from '../errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds since the epoch. */
export function parseTimeArg(text: string, flag: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length > 0 && parts.map((p) => p[0]).join('') === text) {
    return now - parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]!]!, 0);
  }
  const t = Date.parse(text);
  if (Number.isNaN(t))
    throw new InvalidArgumentError(`invalid ${flag} "${text}": a date (2026-01-02T15:04:05Z), a Unix time, or a duration like 10m`);
  return t;
}
