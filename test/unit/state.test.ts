/** IPAM and the schema migrations, on an in-memory database: no root, no kernel. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, useDatabase, type Database } from '../../src/state/db.js';
import { migrations } from '../../src/state/migrations.js';
import { insertNetwork, leaseOf, type NetworkRecord } from '../../src/state/networks.js';
import { leaseAddress, releaseLease } from '../../src/network/ipam.js';
import { formatIp, parseCidr, parseIp } from '../../src/network/ipv4.js';
import {
  abandonStart,
  claimRemoval,
  claimStart,
  getContainer,
  insertContainer,
  markRunning,
  type ContainerRecord,
} from '../../src/state/containers.js';

let db: Database;
beforeEach(() => {
  db = openDatabase(':memory:');
  useDatabase(db);
});
afterEach(() => {
  useDatabase(undefined);
  db.close();
});

function network(subnet: string, name = 'n'): NetworkRecord {
  const c = parseCidr(subnet);
  const net: NetworkRecord = {
    id: `id-${name}`,
    name,
    bridge: `br-${name}`,
    subnet,
    gateway: formatIp(c.base + 1),
    isDefault: false,
    nextAddress: c.base + 1,
    createdAt: new Date(0).toISOString(),
    masquerade: true,
    isolated: true,
  };
  insertNetwork(net);
  return net;
}

describe('migrations', () => {
  it('bring a new database to the latest version, and running them again changes nothing', () => {
    expect(db.pragma('user_version', { simple: true })).toBe(migrations.length);
    const columns = (db.prepare('PRAGMA table_info(containers)').all() as { name: string }[]).map((c) => c.name);
    expect(columns).toEqual(expect.arrayContaining(['restart_count', 'stopped_by_user', 'removing']));
  });
});

describe('IPAM', () => {
  it('never hands out the network, gateway or broadcast address, and fills a /29 with exactly 5', () => {
    const net = network('10.9.0.0/29');
    const got = Array.from({ length: 5 }, (_, i) => formatIp(leaseAddress(net.id, `c${i}`).address));
    expect(got).toEqual(['10.9.0.2', '10.9.0.3', '10.9.0.4', '10.9.0.5', '10.9.0.6']);
    expect(() => leaseAddress(net.id, 'c5')).toThrow(/no free address in network n: 10.9.0.0\/29 is full/);
  });

  it('rotates: a freed address is not handed out again at once', () => {
    const net = network('10.9.1.0/29');
    leaseAddress(net.id, 'a');
    leaseAddress(net.id, 'b');
    releaseLease('a');
    expect(formatIp(leaseAddress(net.id, 'c').address)).toBe('10.9.1.4');
  });

  it('gives a requested address once, and refuses one outside the subnet or the gateway', () => {
    const net = network('10.9.2.0/24');
    expect(leaseAddress(net.id, 'a', { requested: '10.9.2.50' }).address).toBe(parseIp('10.9.2.50'));
    expect(() => leaseAddress(net.id, 'b', { requested: '10.9.2.50' })).toThrow(/already in use/);
    expect(() => leaseAddress(net.id, 'b', { requested: '10.9.3.1' })).toThrow(/not a usable address/);
    expect(() => leaseAddress(net.id, 'b', { requested: '10.9.2.1' })).toThrow(/not a usable address/);
    expect(leaseOf('a')?.mac).toBe('02:42:0a:09:02:32');
  });
});

describe('container claims', () => {
  const record = (id: string): ContainerRecord => ({
    id,
    name: `name-${id}`,
    imageId: 'sha256:x',
    imageRef: 'x',
    spec: { args: ['true'], env: [], cwd: '/', hostname: 'h', network: 'none', tty: false, interactive: false },
    state: 'created',
    shimPid: null,
    shimStartTicks: null,
    pid: null,
    exitCode: null,
    autoRemove: false,
    restartCount: 0,
    stoppedByUser: false,
    oomKilled: false,
    paused: false,
    createdAt: new Date().toISOString(),
    startedAt: null,
    finishedAt: null,
  });

  it('a start claims once; a container being removed cannot be started', () => {
    db.prepare("INSERT INTO images (id, config, size, created_at) VALUES ('sha256:x', '{}', 0, '')").run();
    insertContainer(record('c1'));
    expect(claimStart('c1')).toBe('claimed');
    expect(claimStart('c1')).toBe('running');
    insertContainer(record('c2'));
    expect(claimRemoval('c2', false)).toBe('claimed');
    expect(claimRemoval('c2', true)).toBe('removing');
    expect(claimStart('c2')).toBe('removing');
  });

  it('an abandoned start goes back to Created if it never ran, to Exited if it had', () => {
    db.prepare("INSERT INTO images (id, config, size, created_at) VALUES ('sha256:x', '{}', 0, '')").run();
    insertContainer(record('c1'));
    claimStart('c1');
    abandonStart('c1');
    expect(getContainer('c1')?.state).toBe('created');
    claimStart('c1');
    markRunning('c1', 1, null, 2, new Date().toISOString());
    db.prepare("UPDATE containers SET state = 'exited', pid = NULL WHERE id = 'c1'").run();
    claimStart('c1');
    abandonStart('c1');
    expect(getContainer('c1')?.state).toBe('exited');
  });

  it('without force, a running container is not claimed for removal', () => {
    db.prepare("INSERT INTO images (id, config, size, created_at) VALUES ('sha256:x', '{}', 0, '')").run();
    insertContainer(record('c1'));
    claimStart('c1');
    expect(claimRemoval('c1', false)).toBe('running');
    expect(claimRemoval('missing', true)).toBe('gone');
  });
});
