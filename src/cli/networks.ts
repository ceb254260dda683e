import type { Command } from 'commander';
import { printRecords } from './format.js';
import { forEachName } from './each.js';
import { InvalidArgumentError } from '../errors.js';
import { collect } from './run-flags.js';

/** -o com.docker.network.bridge.name=NAME, as Docker users know it. */
function bridgeOption(opts: string[]): string | undefined {
  let bridge: string | undefined;
  for (const o of opts) {
    const [key, value] = [o.slice(0, o.indexOf('=')), o.slice(o.indexOf('=') + 1)];
    if (key === 'com.docker.network.bridge.name' || key === 'bridge') bridge = value;
    else throw new InvalidArgumentError(`unsupported network option "${o}" (supported: com.docker.network.bridge.name=NAME)`);
  }
  return bridge;
}

export function registerNetworkCommands(program: Command, setExit: (code: number) => void): void {
  const network = program.command('network').description('Manage networks');

  network
    .command('ls')
    .alias('list')
    .description('List networks')
    .option('-q, --quiet', 'only display network ids', false)
    .option('--format <format>', 'table, json, or a template like {{.Name}}')
    .action(async (o) => {
      const { reconcile } = await import('../container/reconcile.js');
      const { listNetworkViews } = await import('../network/describe.js');
      reconcile();
      const views = listNetworkViews();
      if (o.quiet) {
        for (const v of views) process.stdout.write(`${v.ID}\n`);
        return;
      }
      printRecords(
        o.format,
        ['NETWORK ID', 'NAME', 'DRIVER', 'SUBNET', 'GATEWAY', 'CONTAINERS'],
        ['ID', 'Name', 'Driver', 'Subnet', 'Gateway', 'Containers'],
        views as unknown as Record<string, unknown>[],
      );
    });

  network
    .command('diagram')
    .description('Draw the live topology of a network (every network without NAME): uplink, NAT, bridge, veth pairs, containers')
    .argument('[name]')
    .option('--svg <file>', 'write an SVG picture to FILE instead')
    .action(async (name: string | undefined, o) => {
      const { reconcile } = await import('../container/reconcile.js');
      const { describeNetworks, diagramSvg, diagramText } = await import('../network/diagram.js');
      reconcile();
      const nets = describeNetworks(name);
      if (o.svg) {
        const fs = await import('node:fs');
        fs.writeFileSync(o.svg, diagramSvg(nets));
        return;
      }
      process.stdout.write(nets.map(diagramText).join('\n'));
    });

  network
    .command('create')
    .description('Create a bridge network')
    .argument('<name>')
    .option('--subnet <cidr>', 'subnet, e.g. 10.10.0.0/24 (default: the first free one from the pool)')
    .option('--gateway <ip>', "the bridge's address (default: the subnet's first)")
    .option('-d, --driver <driver>', 'only bridge', 'bridge')
    .option('-o, --opt <key=value>', 'com.docker.network.bridge.name=NAME', collect, [])
    .action(async (name: string, o) => {
      if (o.driver !== 'bridge') throw new InvalidArgumentError(`driver ${o.driver} is not supported: tbox has bridge networks`);
      const { createNetwork } = await import('../network/networks.js');
      const net = createNetwork({ name, subnet: o.subnet, gateway: o.gateway, bridge: bridgeOption(o.opt) });
      process.stdout.write(`${net.id}\n`);
    });

  network
    .command('rm')
    .alias('remove')
    .description('Remove one or more networks')
    .argument('<network...>')
    .action(async (names: string[]) => {
      const { reconcile } = await import('../container/reconcile.js');
      const { removeNetwork } = await import('../network/networks.js');
      reconcile();
      await forEachName(names, setExit, async (name) => {
        removeNetwork(name);
        return name;
      });
    });

  network
    .command('connect')
    .description('Connect a container to a network: a running one gets another interface (eth1, ...) at once')
    .argument('<network>')
    .argument('<container>')
    .option('--ip <address>', 'IPv4 address on that network')
    .option('--alias <name>', 'another name peers on that network reach it by (repeatable)', collect, [])
    .action(async (network: string, container: string, o) => {
      const { connectContainer } = await import('../container/connect.js');
      connectContainer(container, network, { ip: o.ip, aliases: o.alias });
    });

  network
    .command('disconnect')
    .description('Disconnect a container from a network it was connected to')
    .argument('<network>')
    .argument('<container>')
    .option('-f, --force', 'accepted for Docker compatibility', false)
    .action(async (network: string, container: string) => {
      const { disconnectContainer } = await import('../container/connect.js');
      disconnectContainer(container, network);
    });

  network
    .command('prune')
    .description('Remove user networks no container uses')
    .option('-f, --force', 'do not ask', false)
    .action(async (o) => {
      const { confirm } = await import('./confirm.js');
      if (!o.force && !(await confirm('WARNING! This will remove all custom networks not used by at least one container.'))) return;
      const { reconcile } = await import('../container/reconcile.js');
      const { pruneNetworks } = await import('../network/networks.js');
      reconcile();
      const removed = pruneNetworks();
      if (removed.length) process.stdout.write(`Deleted Networks:\n${removed.join('\n')}\n`);
    });

  network
    .command('inspect')
    .description("Show a network as JSON: subnet, gateway, bridge, and each container's IP, MAC and veth")
    .argument('<network...>')
    .action(async (names: string[]) => {
      const { reconcile } = await import('../container/reconcile.js');
      const { inspectNetwork } = await import('../network/describe.js');
      reconcile();
      process.stdout.write(JSON.stringify(names.map(inspectNetwork), null, 4) + '\n');
    });
}
