import type { Command } from 'commander';
import { collect } from './run-flags.js';
import type { TboxEvent } from '../state/events.js';
import { renderTemplate } from './format.js';
import { InvalidArgumentError } from '../errors.js';

/** Docker's event line: `<time> container create <id> (image=busybox, name=web)`. */
function eventLine(e: TboxEvent): string {
  const attrs = Object.entries(e.attributes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  const secs = Math.floor(e.timeNano / 1e9);
  const time = new Date(secs * 1000).toISOString().replace(/\.\d{3}Z$/, `.${String(e.timeNano % 1e9).padStart(9, '0')}Z`);
  return `${time} ${e.type} ${e.action} ${e.actorId}${attrs ? ` (${attrs})` : ''}`;
}

/** The shape `--format '{{json .}}'` prints, as Docker's events/message. */
const eventRecord = (e: TboxEvent) => ({
  status: e.action,
  id: e.actorId,
  from: e.attributes.image ?? '',
  Type: e.type,
  Action: e.action,
  Actor: { ID: e.actorId, Attributes: e.attributes },
  scope: 'local',
  time: Math.floor(e.timeNano / 1e9),
  timeNano: e.timeNano,
});

/** --filter type=, event= (or action=), container=, image=, name=: keys AND, values of one key OR. */
function eventFilter(filters: string[]): (e: TboxEvent) => boolean {
  const wanted = new Map<string, string[]>();
  for (const f of filters) {
    const eq = f.indexOf('=');
    const key = f.slice(0, eq);
    if (eq < 0 || !['type', 'event', 'action', 'container', 'image', 'name'].includes(key)) {
      throw new InvalidArgumentError(`invalid filter '${f}': type=, event=, container=, image= or name=`);
    }
    const k = key === 'action' ? 'event' : key === 'name' ? 'container' : key;
    wanted.set(k, [...(wanted.get(k) ?? []), f.slice(eq + 1)]);
  }
  const field: Record<string, (e: TboxEvent) => string[]> = {
    type: (e) => [e.type],
    event: (e) => [e.action],
    container: (e) => (e.type === 'container' ? [e.actorId, e.actorId.slice(0, 12), e.attributes.name ?? ''] : []),
    image: (e) => [e.attributes.image ?? ''],
  };
  return (e) => [...wanted].every(([k, values]) => field[k]!(e).some((v) => values.includes(v)));
}

export function registerEventsCommand(program: Command): void {
  program
    .command('events')
    .description('Show what happened to containers (create, start, die, destroy, ...), then follow until --until or Ctrl-C')
    .option('--since <time>', 'events since a date, a Unix time, or a duration ago (10m)')
    .option('--until <time>', 'stop at a date, a Unix time, or a duration ago; print only past events')
    .option('-f, --filter <key=value>', 'type=, event=, container=, image= (repeatable)', collect, [])
    .option('--format <format>', 'a template like {{.Action}}, or json')
    .action(async (o) => {
      const { readEvents } = await import('../state/events.js');
      const { parseTimeArg } = await import('./times.js');
      const keep = eventFilter(o.filter);
      const started = Date.now();
      const since = o.since === undefined ? started : parseTimeArg(o.since, '--since');
      const until = o.until === undefined ? Number.POSITIVE_INFINITY : parseTimeArg(o.until, '--until');
      const print = (e: TboxEvent) => {
        if (!keep(e)) return;
        const line =
          o.format === 'json' ? JSON.stringify(eventRecord(e)) : o.format ? renderTemplate(o.format, eventRecord(e)) : eventLine(e);
        process.stdout.write(`${line}\n`);
      };
      let seq = 0;
      for (;;) {
        const limit = Math.min(until, Date.now()) * 1e6;
        for (const e of readEvents(seq, since * 1e6, limit)) {
          print(e);
          seq = e.seq;
        }
        if (Date.now() >= until) return;
        await new Promise((r) => setTimeout(r, 200));
      }
    });
}
