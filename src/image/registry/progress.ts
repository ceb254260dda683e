/**
 * Pull progress the way Docker users know it: one line per layer, redrawn
 * with a bar on a terminal, plain status lines when output is not one.
 */
const BAR = 50;

function human(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)}${units[i]}`;
}

export class PullProgress {
  private readonly order: string[] = [];
  private readonly lines = new Map<string, string>();
  private drawn = 0;
  private lastDraw = 0;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly tty = Boolean(out.isTTY),
  ) {}

  message(text: string): void {
    this.out.write(`${text}\n`);
    this.drawn = 0;
  }

  status(id: string, text: string): void {
    if (!this.lines.has(id)) this.order.push(id);
    this.lines.set(id, `${id}: ${text}`);
    if (this.tty) this.draw(true);
    else this.out.write(`${id}: ${text}\n`);
  }

  bytes(id: string, done: number, total: number): void {
    if (!this.tty) return;
    const filled = total > 0 ? Math.min(BAR, Math.floor((done / total) * BAR)) : 0;
    const bar = `[${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? '>' : ''}${' '.repeat(BAR - filled)}]`;
    this.lines.set(id, `${id}: Downloading ${bar} ${human(done)}/${human(total)}`);
    this.draw(false);
  }

  private draw(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    let text = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    for (const id of this.order) text += `\x1b[2K${this.lines.get(id)}\n`;
    this.out.write(text);
    this.drawn = this.order.length;
  }
}
