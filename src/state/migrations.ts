/**
 * Schema versions, applied in order and recorded in PRAGMA user_version.
 * Never edit a released migration: add the next one.
 */
export const migrations: readonly string[] = [
  // 1: images, their layers, tags, and containers
  `
  CREATE TABLE layers (
    diff_id TEXT PRIMARY KEY,
    size INTEGER NOT NULL
  );
  CREATE TABLE images (
    id TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE tags (
    repository TEXT NOT NULL,
    tag TEXT NOT NULL,
    image_id TEXT NOT NULL REFERENCES images(id),
    PRIMARY KEY (repository, tag)
  );
  CREATE TABLE containers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    image_id TEXT NOT NULL REFERENCES images(id),
    image_ref TEXT NOT NULL,
    spec TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('created', 'running', 'exited')),
    shim_pid INTEGER,
    shim_start_ticks INTEGER,
    pid INTEGER,
    exit_code INTEGER,
    auto_remove INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT
  );
  `,
  // 2: bridge networks and IPAM leases (addresses as 32-bit integers)
  `
  CREATE TABLE networks (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    bridge TEXT NOT NULL UNIQUE,
    subnet TEXT NOT NULL,
    gateway TEXT NOT NULL,
    is_default INTEGER NOT NULL DEFAULT 0,
    next_address INTEGER NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE leases (
    network_id TEXT NOT NULL REFERENCES networks(id),
    address INTEGER NOT NULL,
    container_id TEXT NOT NULL UNIQUE,
    host_veth TEXT NOT NULL,
    mac TEXT NOT NULL,
    UNIQUE (network_id, address)
  );
  `,
  // 3: fully qualified repositories (docker.io/library/alpine) as Docker
  // stores them, and the manifest digests images were pulled by
  `
  UPDATE tags SET repository = 'docker.io/library/' || repository WHERE instr(repository, '/') = 0;
  UPDATE tags SET repository = 'docker.io/' || repository
    WHERE instr(repository, '/') > 0
      AND substr(repository, 1, instr(repository, '/') - 1) NOT LIKE '%.%'
      AND substr(repository, 1, instr(repository, '/') - 1) NOT LIKE '%:%'
      AND substr(repository, 1, instr(repository, '/') - 1) != 'localhost';
  CREATE TABLE digests (
    repository TEXT NOT NULL,
    digest TEXT NOT NULL,
    image_id TEXT NOT NULL REFERENCES images(id),
    PRIMARY KEY (repository, digest)
  );
  `,
  // 4: restart policies: how often the monitor restarted a container, and
  // whether the user stopped it (which no policy overrides)
  `
  ALTER TABLE containers ADD COLUMN restart_count INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE containers ADD COLUMN stopped_by_user INTEGER NOT NULL DEFAULT 0;
  `,
  // 5: a container being removed can no longer be started (rm -f and start
  // serialize): the pid of the tbox removing it, 0 for none; a dead one's
  // claim lapses
  `
  ALTER TABLE containers ADD COLUMN removing INTEGER NOT NULL DEFAULT 0;
  `,
  // 6: whether the kernel's OOM killer struck in a container's last run (inspect's State.OOMKilled)
  `
  ALTER TABLE containers ADD COLUMN oom_killed INTEGER NOT NULL DEFAULT 0;
  `,
  // 7: host ports published by running containers: a port is held by one
  // container at a time, 0.0.0.0 clashing with every address (see state/ports.ts)
  `
  CREATE TABLE port_bindings (
    container_id TEXT NOT NULL,
    proto TEXT NOT NULL CHECK (proto IN ('tcp', 'udp')),
    host_ip TEXT NOT NULL,
    host_port INTEGER NOT NULL,
    container_port INTEGER NOT NULL,
    PRIMARY KEY (proto, host_port, host_ip)
  );
  CREATE INDEX port_bindings_by_container ON port_bindings (container_id);
  `,
  // 8: named and anonymous volumes (their data is in <root>/volumes/<name>/_data)
  `
  CREATE TABLE volumes (
    name TEXT PRIMARY KEY,
    anonymous INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
  );
  `,
  // 9: what happened to containers, for tbox events (written in the same transaction as the change)
  `
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time_nano INTEGER NOT NULL,
    type TEXT NOT NULL,
    action TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    attributes TEXT NOT NULL
  );
  CREATE INDEX events_by_time ON events (time_nano);
  ALTER TABLE containers ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
  `,
  // 10: a container on several networks (tbox network connect): one lease per
  // network, each on its own interface inside (eth0 the first, then eth1, ...)
  `
  CREATE TABLE leases_by_network (
    network_id TEXT NOT NULL REFERENCES networks(id),
    address INTEGER NOT NULL,
    container_id TEXT NOT NULL,
    host_veth TEXT NOT NULL,
    mac TEXT NOT NULL,
    iface TEXT NOT NULL DEFAULT 'eth0',
    UNIQUE (network_id, address),
    UNIQUE (container_id, network_id),
    UNIQUE (container_id, iface)
  );
  INSERT INTO leases_by_network (network_id, address, container_id, host_veth, mac)
    SELECT network_id, address, container_id, host_veth, mac FROM leases;
  DROP TABLE leases;
  ALTER TABLE leases_by_network RENAME TO leases;
  `,
  // 11: a network may go without NAT or without isolation (tbox-cni's ipMasq and isolation)
  `
  ALTER TABLE networks ADD COLUMN masquerade INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE networks ADD COLUMN isolated INTEGER NOT NULL DEFAULT 1;
  `,
];
