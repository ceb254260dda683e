/** The pure parts of the Docker CLI additions: compose files, filters, times, ulimits, cp's path rules. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadProject } from '../../src/compose/project.js';
import { parseFilters } from '../../src/container/ps-filter.js';
import { parseTimeArg } from '../../src/cli/times.js';
import { parseUlimits } from '../../src/container/spec.js';
import { resolveInScope } from '../../src/container/copy/scope.js';
import { landing } from '../../src/container/copy/tree.js';
import { imageRowFilter } from '../../src/image/list-filter.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tbox-unit-cli-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const compose = (text: string, name?: string) => {
  const file = path.join(dir, 'compose.yaml');
  fs.writeFileSync(file, text);
  return loadProject(file, name);
};

describe('compose files', () => {
  it('reads the subset: names, start order, env forms, ports, volumes and networks', () => {
    const p = compose(
      `services:
  web:
    image: busybox
    command: sh -c "echo 'hi there'"
    depends_on: { db: { condition: service_started } }
    environment: { A: 1, B: null }
    ports: ["8080:80", { target: 81, published: 9090, protocol: udp }]
    volumes: [data:/data, ./conf:/etc/conf:ro]
    networks: [back]
  db:
    image: busybox
    container_name: the-db
networks: { back: {} }
volumes: { data: {} }
`,
      'Demo.App',
    );
    expect(p.name).toBe('demoapp');
    expect(p.services.map((s) => s.name)).toEqual(['db', 'web']);
    const web = p.services[1]!;
    expect(web.command).toEqual(['sh', '-c', "echo 'hi there'"]);
    expect(web.environment).toEqual(['A=1', 'B']);
    expect(web.ports).toEqual(['8080:80', '9090:81/udp']);
    expect(web.volumes).toEqual(['demoapp_data:/data', `${dir}/conf:/etc/conf:ro`]);
    expect(web.network).toBe('demoapp_back');
    expect(web.containerName).toBe('demoapp_web_1');
    expect(p.services[0]!.containerName).toBe('the-db');
    expect(p.services[0]!.network).toBe('demoapp_default');
  });

  it.each([
    ['services:\n  a:\n    build: .\n', /services\.a\.build is not supported/],
    ['services:\n  a:\n    command: x\n', /services\.a has no image/],
    ['services:\n  a: {image: x, depends_on: [b]}\n', /no service "b"/],
    ['services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n', /cycle/],
    ['services:\n  a: {image: x, depends_on: {b: {condition: service_healthy}}}\n  b: {image: x}\n', /service_healthy is not supported/],
    ['services:\n  a: {image: x, volumes: ["nope:/x"]}\n', /"nope" is not in the top-level volumes/],
    ['services:\n  a: {image: x, networks: [x, y]}\n', /one network/],
    ['x: [', /not valid YAML/],
    ['secrets: {}\nservices: {a: {image: x}}\n', /top-level key "secrets"/],
  ])('refuses %j', (text, message) => {
    expect(() => compose(text, 'p')).toThrow(message);
  });
});

describe('filters, times and limits', () => {
  it('ps filters: keys are checked, values of one key collected', () => {
    expect([...parseFilters(['status=exited', 'status=created', 'label=a'])]).toEqual([
      ['status', ['exited', 'created']],
      ['label', ['a']],
    ]);
    expect(() => parseFilters(['colour=red'])).toThrow(/invalid filter/);
    expect(() => parseFilters(['status=sleeping'])).toThrow(/one of created/);
    expect(() => parseFilters(['exited=x'])).toThrow(/an exit code/);
  });

  it('--since and --until: dates, Unix times and durations', () => {
    const now = Date.parse('2026-11-28T12:00:00Z');
    expect(parseTimeArg('2026-11-28T11:00:00Z', '--since', now)).toBe(now - 3600_000);
    expect(parseTimeArg('1700000000.5', '--since', now)).toBe(1700000000500);
    expect(parseTimeArg('1h30m', '--since', now)).toBe(now - 5400_000);
    expect(parseTimeArg('0s', '--until', now)).toBe(now);
    expect(() => parseTimeArg('yesterday', '--since', now)).toThrow(/invalid --since/);
  });

  it('--ulimit: Docker names, soft and hard, -1 unlimited', () => {
    expect(parseUlimits(['nofile=1024:2048', 'core=-1'])).toEqual([
      { type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 },
      { type: 'RLIMIT_CORE', soft: -1, hard: -1 },
    ]);
    expect(() => parseUlimits(['nofile=9:1'])).toThrow(/soft limit is above/);
    expect(() => parseUlimits(['files=1'])).toThrow(/invalid --ulimit/);
  });

  it('images REPO[:TAG], dangling= and reference=', () => {
    const rows = [
      { Repository: 'busybox', Tag: 'latest' },
      { Repository: 'me/app', Tag: '1' },
      { Repository: '<none>', Tag: '<none>' },
    ];
    expect(rows.filter(imageRowFilter('busybox', []))).toEqual([rows[0]]);
    expect(rows.filter(imageRowFilter('me/app:2', []))).toEqual([]);
    expect(rows.filter(imageRowFilter(undefined, ['dangling=true']))).toEqual([rows[2]]);
    expect(rows.filter(imageRowFilter(undefined, ['reference=me/*']))).toEqual([rows[1]]);
    expect(rows.filter(imageRowFilter(undefined, ['reference=*']))).toEqual([rows[0], rows[2]]);
    expect(() => imageRowFilter(undefined, ['size=1'])).toThrow(/invalid filter/);
  });
});

describe("cp's paths", () => {
  it('resolves symlinks inside the root, never out of it', () => {
    fs.mkdirSync(path.join(dir, 'etc'));
    fs.writeFileSync(path.join(dir, 'etc', 'hostname'), 'inner');
    fs.symlinkSync('/', path.join(dir, 'escape'));
    fs.symlinkSync('../../../../etc', path.join(dir, 'up'));
    fs.symlinkSync('/etc/hostname', path.join(dir, 'abs'));
    expect(resolveInScope(dir, '/escape/etc/hostname')).toEqual({
      hostPath: path.join(dir, 'etc', 'hostname'),
      inner: '/etc/hostname',
      exists: true,
    });
    expect(resolveInScope(dir, '/up/hostname').hostPath).toBe(path.join(dir, 'etc', 'hostname'));
    expect(resolveInScope(dir, '/abs').hostPath).toBe(path.join(dir, 'etc', 'hostname'));
    expect(resolveInScope(dir, '/../../x')).toMatchObject({ hostPath: path.join(dir, 'x'), exists: false });
    fs.symlinkSync('loop', path.join(dir, 'loop'));
    expect(() => resolveInScope(dir, '/loop')).toThrow(/too many levels/);
  });

  it("lands as Docker's cp does: into a directory, onto a path, or a directory's contents with /.", () => {
    expect(landing('f', false, '/d', true, false)).toBe('/d/f');
    expect(landing('f', false, '/d/g', undefined, false)).toBe('/d/g');
    expect(landing('src', true, '/d', true, true)).toBe('/d');
    expect(() => landing('src', true, '/d/file', false, false)).toThrow(/cannot copy a directory to file/);
  });
});
