/**
 * Go's text/template, the part Docker users type in --format and -f:
 * fields (.A.B, $x.A), pipelines (a | b), if/else if/else, range (with
 * $i, $e :=), with, variables, parentheses, comments, {{- -}} trimming;
 * Go's functions (index, len, printf, print, println, eq, ne, lt, le, gt,
 * ge, and, or, not) and Docker's (json, join, split, upper, lower, title,
 * truncate, pad). An unknown field or function is an error, never printed
 * back as text.
 */
import { TboxError } from '../errors.js';

export class TemplateError extends TboxError {
  constructor(message: string) {
    super(`template: ${message}`, 1);
  }
}

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: Pipe }
  | { kind: 'if' | 'with'; pipe: Pipe; then: Node[]; else: Node[] }
  | { kind: 'range'; pipe: Pipe; vars: string[]; then: Node[]; else: Node[] };

interface Pipe {
  decl: string[];
  cmds: Arg[][];
}

type Arg =
  | { kind: 'field'; base: 'dot' | string; path: string[] }
  | { kind: 'literal'; value: unknown }
  | { kind: 'ident'; name: string }
  | { kind: 'sub'; pipe: Pipe; path: string[] };

// ---- lexing: text and actions, then the tokens of an action

interface Chunk {
  text?: string;
  action?: string;
}

function chunks(src: string): Chunk[] {
  const out: Chunk[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      out.push({ text: src.slice(i) });
      break;
    }
    let text = src.slice(i, open);
    let start = open + 2;
    if (src[start] === '-' && /\s/.test(src[start + 1] ?? '')) {
      text = text.replace(/\s+$/, '');
      start++;
    }
    const close = src.indexOf('}}', start);
    if (close < 0) throw new TemplateError('unclosed action');
    let body = src.slice(start, close);
    let next = close + 2;
    if (/\s-$/.test(body)) {
      body = body.slice(0, -1);
      const m = /^\s*/.exec(src.slice(next))!;
      next += m[0].length;
    }
    if (text) out.push({ text });
    out.push({ action: body.trim() });
    i = next;
  }
  return out;
}

function tokens(action: string): string[] {
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|'(?:[^'\\]|\\.)'|:=|=|\||\(|\)|,|[^\s|(),=]+)/y;
  const out: string[] = [];
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while (re.lastIndex < action.length && (m = re.exec(action))) out.push(m[1]!);
  if (re.lastIndex < action.trimEnd().length) throw new TemplateError(`unexpected "${action.slice(re.lastIndex)}"`);
  return out;
}

// ---- parsing

function parsePipe(toks: string[]): Pipe {
  let pos = 0;
  const decl: string[] = [];
  const assign = toks.findIndex((t) => t === ':=' || t === '=');
  if (assign > 0 && toks.slice(0, assign).every((t) => t === ',' || t.startsWith('$'))) {
    decl.push(...toks.slice(0, assign).filter((t) => t !== ','));
    pos = assign + 1;
  }
  const parseArgs = (stop: string | undefined): Pipe['cmds'] => {
    const cmds: Arg[][] = [[]];
    while (pos < toks.length) {
      const t = toks[pos]!;
      if (t === stop) return cmds;
      pos++;
      if (t === '|') {
        if (cmds.at(-1)!.length === 0) throw new TemplateError('missing command before "|"');
        cmds.push([]);
      } else if (t === '(') {
        const inner = parseArgs(')');
        if (toks[pos] !== ')') throw new TemplateError('unclosed "("');
        pos++;
        const after = toks[pos]?.startsWith('.') && !/^\.\d/.test(toks[pos]!) ? toks[pos++]!.split('.').filter(Boolean) : [];
        cmds.at(-1)!.push({ kind: 'sub', pipe: { decl: [], cmds: inner }, path: after });
      } else cmds.at(-1)!.push(parseOperand(t));
    }
    if (stop) throw new TemplateError(`missing "${stop}"`);
    return cmds;
  };
  const cmds = parseArgs(undefined);
  if (cmds.some((c) => c.length === 0)) throw new TemplateError('missing value');
  return { decl, cmds };
}

function parseOperand(t: string): Arg {
  if (t === '.') return { kind: 'field', base: 'dot', path: [] };
  if (t.startsWith('.')) return { kind: 'field', base: 'dot', path: t.split('.').filter(Boolean) };
  if (t.startsWith('$')) {
    const [name, ...path] = t.split('.');
    return { kind: 'field', base: name!, path };
  }
  if (t.startsWith('"')) return { kind: 'literal', value: JSON.parse(t) };
  if (t.startsWith('`')) return { kind: 'literal', value: t.slice(1, -1) };
  if (/^-?\d+(\.\d+)?$/.test(t)) return { kind: 'literal', value: Number(t) };
  if (t === 'true' || t === 'false') return { kind: 'literal', value: t === 'true' };
  if (t === 'nil') return { kind: 'literal', value: null };
  if (/^[A-Za-z_]\w*$/.test(t)) return { kind: 'ident', name: t };
  throw new TemplateError(`unexpected "${t}"`);
}

function parse(src: string): Node[] {
  const list = chunks(src);
  let pos = 0;
  // Parses until one of `stops` ({{else}}, {{end}}); returns the nodes and the stop met.
  const block = (stops: string[]): [Node[], string] => {
    const nodes: Node[] = [];
    while (pos < list.length) {
      const c = list[pos++]!;
      if (c.text !== undefined) {
        nodes.push({ kind: 'text', text: c.text });
        continue;
      }
      const a = c.action!;
      if (a.startsWith('/*')) continue;
      const word = a.split(/\s+/)[0]!;
      if (stops.includes(word) || (word === 'else' && stops.includes('else'))) return [nodes, a];
      if (word === 'if' || word === 'with' || word === 'range') nodes.push(control(word, a.slice(word.length)));
      else if (word === 'end' || word === 'else') throw new TemplateError(`unexpected {{${word}}}`);
      else nodes.push({ kind: 'action', pipe: parsePipe(tokens(a)) });
    }
    if (stops.length) throw new TemplateError(`unexpected EOF: missing {{end}}`);
    return [nodes, ''];
  };
  const control = (word: 'if' | 'with' | 'range', rest: string): Node => {
    const pipe = parsePipe(tokens(rest));
    const [then, stop] = block(['end', 'else']);
    let otherwise: Node[] = [];
    if (stop.startsWith('else')) {
      const chained = stop.slice(4).trim();
      if (chained.startsWith('if ') || chained.startsWith('with ')) {
        const w = chained.startsWith('if ') ? 'if' : 'with';
        otherwise = [control(w, chained.slice(w.length))];
      } else [otherwise] = block(['end']);
    }
    if (word === 'range') return { kind: 'range', pipe: { ...pipe, decl: [] }, vars: pipe.decl, then, else: otherwise };
    return { kind: word, pipe, then, else: otherwise };
  };
  return block([])[0];
}

// ---- evaluation

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function truth(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (isObject(v)) return Object.keys(v).length > 0;
  return Boolean(v);
}

/** How Go prints a value with {{.}}: lists as [a b], maps as map[k:v], nil as <nil>. */
export function goString(v: unknown): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goString).join(' ')}]`;
  if (isObject(v))
    return `map[${Object.keys(v)
      .sort()
      .map((k) => `${k}:${goString(v[k])}`)
      .join(' ')}]`;
  return String(v);
}

function field(v: unknown, path: string[], where: string): unknown {
  let cur = v;
  for (const key of path) {
    if (!isObject(cur) || !(key in cur)) throw new TemplateError(`${where}: can't evaluate field ${key}`);
    cur = cur[key];
  }
  return cur;
}

function sprintf(format: string, args: unknown[]): string {
  let i = 0;
  return format.replace(/%([-+ 0#]*)(\d*)(?:\.(\d+))?([svdqtfx%])/g, (_all, flags: string, width: string, prec: string, verb: string) => {
    if (verb === '%') return '%';
    const a = args[i++];
    let s: string;
    if (verb === 'q') s = JSON.stringify(String(a));
    else if (verb === 'd') s = String(Math.trunc(Number(a)));
    else if (verb === 'f') s = Number(a).toFixed(prec ? Number(prec) : 6);
    else if (verb === 'x') s = Number(a).toString(16);
    else s = goString(a);
    const w = Number(width || 0);
    return flags.includes('-') ? s.padEnd(w) : s.padStart(w);
  });
}

const compare = (a: unknown, b: unknown) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b)));

const FUNCTIONS: Record<string, (...args: unknown[]) => unknown> = {
  json: (v) => JSON.stringify(v ?? null),
  join: (list, sep) => (Array.isArray(list) ? list.map(goString).join(String(sep)) : goString(list)),
  split: (s, sep) => String(s).split(String(sep)),
  upper: (s) => String(s).toUpperCase(),
  lower: (s) => String(s).toLowerCase(),
  title: (s) => String(s).replace(/\b\w/g, (c) => c.toUpperCase()),
  truncate: (s, n) => String(s).slice(0, Number(n)),
  pad: (s, left, right) => `${' '.repeat(Number(left))}${String(s)}${' '.repeat(Number(right))}`,
  len: (v) => {
    if (Array.isArray(v) || typeof v === 'string') return v.length;
    if (isObject(v)) return Object.keys(v).length;
    throw new TemplateError(`len of ${goString(v)}`);
  },
  index: (v, ...keys) => {
    let cur = v;
    for (const k of keys) {
      if (Array.isArray(cur)) cur = cur[Number(k)];
      else if (isObject(cur)) cur = cur[String(k)];
      else throw new TemplateError(`index of ${goString(cur)}`);
    }
    return cur;
  },
  printf: (format, ...args) => sprintf(String(format), args),
  print: (...args) => args.map(goString).join(' '),
  println: (...args) => `${args.map(goString).join(' ')}\n`,
  eq: (a, ...bs) => bs.some((b) => a === b || (a !== null && b !== null && String(a) === String(b) && typeof a === typeof b)),
  ne: (a, b) => a !== b,
  lt: (a, b) => compare(a, b) < 0,
  le: (a, b) => compare(a, b) <= 0,
  gt: (a, b) => compare(a, b) > 0,
  ge: (a, b) => compare(a, b) >= 0,
  and: (...args) => args.find((a) => !truth(a)) ?? args.at(-1),
  or: (...args) => args.find((a) => truth(a)) ?? args.at(-1),
  not: (a) => !truth(a),
};

type Scope = Map<string, unknown>;

function evalArg(a: Arg, dot: unknown, scope: Scope, piped: unknown[]): unknown {
  if (a.kind === 'literal') return a.value;
  if (a.kind === 'field') {
    if (a.base === 'dot') return field(dot, a.path, `.${a.path.join('.')}`);
    if (!scope.has(a.base)) throw new TemplateError(`undefined variable: ${a.base}`);
    return field(scope.get(a.base), a.path, `${a.base}.${a.path.join('.')}`);
  }
  if (a.kind === 'sub') return field(evalPipe(a.pipe, dot, scope), a.path, 'pipeline');
  return callFunction(a.name, [], piped);
}

function callFunction(name: string, args: unknown[], piped: unknown[]): unknown {
  const fn = FUNCTIONS[name];
  if (!fn) throw new TemplateError(`function "${name}" not defined`);
  return fn(...args, ...piped);
}

function evalPipe(p: Pipe, dot: unknown, scope: Scope): unknown {
  let value: unknown;
  p.cmds.forEach((cmd, i) => {
    const piped = i === 0 ? [] : [value];
    const [head, ...rest] = cmd;
    if (head!.kind === 'ident')
      value = callFunction(
        head!.name,
        rest.map((a) => evalArg(a, dot, scope, [])),
        piped,
      );
    else if (rest.length) throw new TemplateError(`${goString(evalArg(head!, dot, scope, []))} is not a function`);
    else if (i > 0) throw new TemplateError('a value cannot take piped input');
    else value = evalArg(head!, dot, scope, piped);
  });
  for (const v of p.decl) scope.set(v, value);
  return value;
}

function execute(nodes: Node[], dot: unknown, scope: Scope): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'action') {
      const v = evalPipe(n.pipe, dot, scope);
      if (n.pipe.decl.length === 0) out += goString(v);
    } else if (n.kind === 'if') out += execute(truth(evalPipe(n.pipe, dot, scope)) ? n.then : n.else, dot, new Map(scope));
    else if (n.kind === 'with') {
      const v = evalPipe(n.pipe, dot, scope);
      out += truth(v) ? execute(n.then, v, new Map(scope)) : execute(n.else, dot, new Map(scope));
    } else if (n.kind === 'range') {
      const v = evalPipe(n.pipe, dot, scope);
      const entries: [unknown, unknown][] = Array.isArray(v)
        ? v.map((e, i) => [i, e])
        : isObject(v)
          ? Object.keys(v)
              .sort()
              .map((k) => [k, v[k]])
          : v === null || v === undefined
            ? []
            : (() => {
                throw new TemplateError(`range can't iterate over ${goString(v)}`);
              })();
      if (entries.length === 0) out += execute(n.else, dot, new Map(scope));
      for (const [k, e] of entries) {
        const inner = new Map(scope);
        if (n.vars.length === 1) inner.set(n.vars[0]!, e);
        if (n.vars.length === 2) {
          inner.set(n.vars[0]!, k);
          inner.set(n.vars[1]!, e);
        }
        out += execute(n.then, e, inner);
      }
    }
  }
  return out;
}

/** Render a template against a value ($ is the value too, as in Go). Errors are TemplateError, exit 1. */
export function render(template: string, value: unknown): string {
  const nodes = parse(template.replace(/\\t/g, '\t').replace(/\\n/g, '\n'));
  return execute(nodes, value, new Map([['$', value]]));
}
