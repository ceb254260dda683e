/** The flags run and create share, as Docker's do, and the options they make. */
import type { Command, OptionValues } from 'commander';
import { addResourceOptions, resourceFlags } from './resource-flags.js';
import type { RunOptions } from '../container/run.js';

export const collect = (value: string, previous: string[] = []) => [...previous, value];

export function addRunOptions(cmd: Command): Command {
  return addResourceOptions(
    cmd
      .option('--name <name>', 'assign a name to the container')
      .option('-e, --env <KEY=VAL>', 'set an environment variable (repeatable)', collect, [])
      .option('--env-file <file>', 'read environment variables from a file (repeatable)', collect, [])
      .option('-w, --workdir <dir>', 'working directory inside the container')
      .option('--entrypoint <cmd>', "override the image's entrypoint")
      .option('-h, --hostname <name>', 'container host name')
      .option('-u, --user <user>', 'name|uid[:group|gid] to run as')
      .option('--network <network>', 'bridge (default), host, none, or a network from tbox network create', 'bridge')
      .option('--ip <address>', 'IPv4 address on a bridge network')
      .option(
        '-p, --publish <[ip:][hostPort:]containerPort[/proto]>',
        "publish a container's port to the host (repeatable; ranges too)",
        collect,
        [],
      )
      .option('-P, --publish-all', 'publish every exposed port to a free host port', false)
      .option('--expose <port[/proto]>', 'expose a port or a range (repeatable)', collect, [])
      .option('--network-alias <name>', 'another name peers on a user network reach this container by (repeatable)', collect, [])
      .option('--add-host <host:ip>', 'add a line to /etc/hosts (repeatable; ip may be host-gateway)', collect, [])
      .option('--dns <ip>', 'a DNS server for /etc/resolv.conf (repeatable)', collect, [])
      .option('--dns-search <domain>', 'a DNS search domain (repeatable)', collect, [])
      .option('--dns-option <option>', 'a resolv.conf option (repeatable)', collect, [])
      .option(
        '-v, --volume <[source:]target[:opts]>',
        'a volume (NAME:/path), a host path (/host:/path), or an anonymous volume (/path)',
        collect,
        [],
      )
      .option('--mount <spec>', 'type=bind|volume|tmpfs,source=...,target=...[,readonly] (repeatable)', collect, [])
      .option('--tmpfs <path[:options]>', 'a tmpfs at path, e.g. /run:size=64m,mode=1777 (repeatable)', collect, [])
      .option('--volumes-from <container[:ro|rw]>', "another container's volumes and binds (repeatable)", collect, [])
      .option('--read-only', "mount the container's root read-only", false)
      .option('--pull <policy>', 'pull the image: missing, always, never', 'missing')
      .option('--restart <policy>', 'no, always, unless-stopped, on-failure[:max-retries]', 'no')
      .option('-i, --interactive', 'keep stdin open', false)
      .option('-t, --tty', 'give the container the terminal', false)
      .option('--cap-add <cap>', 'add a Linux capability (repeatable; ALL for every one)', collect, [])
      .option('--cap-drop <cap>', 'drop a Linux capability (repeatable; ALL for every one)', collect, [])
      .option('--privileged', "the host's capabilities and devices, no seccomp, no masked or read-only paths", false)
      .option('--security-opt <opt>', 'no-new-privileges, seccomp=unconfined or seccomp=PROFILE.json (repeatable)', collect, [])
      .option('--device <dev>', 'add a host device: HOST[:CONTAINER][:rwm] (repeatable)', collect, [])
      .option('-l, --label <KEY=VAL>', 'set a label on the container (repeatable)', collect, [])
      .option('--stop-signal <signal>', 'the signal tbox stop sends first', 'SIGTERM')
      .option('--stop-timeout <seconds>', 'seconds tbox stop waits before SIGKILL')
      .option('--platform <os/arch>', 'only linux/amd64 here')
      .option('--ulimit <name=soft[:hard]>', 'a process limit, e.g. nofile=1024:2048 (repeatable)', collect, [])
      .option('--init', 'run a tiny init as pid 1 that passes signals on and reaps orphans', false),
  );
}

/** The options of run and create, checked before anything is made. */
export async function runOptions(image: string, cmd: string[], o: OptionValues): Promise<RunOptions> {
  const { parsePullPolicy } = await import('../image/resolve.js');
  const { checkPlatform } = await import('../image/platform.js');
  checkPlatform(o.platform);
  return {
    image,
    cmd,
    name: o.name,
    autoRemove: o.rm,
    detach: o.detach,
    env: o.env,
    envFiles: o.envFile,
    workdir: o.workdir,
    entrypoint: o.entrypoint,
    hostname: o.hostname,
    network: o.network,
    ip: o.ip,
    pull: parsePullPolicy(o.pull),
    restart: o.restart,
    interactive: o.interactive,
    tty: o.tty,
    user: o.user,
    capAdd: o.capAdd,
    capDrop: o.capDrop,
    privileged: o.privileged,
    securityOpt: o.securityOpt,
    devices: o.device,
    resources: resourceFlags(o),
    labels: o.label,
    stopSignal: o.stopSignal,
    ulimit: o.ulimit,
    init: o.init,
    stopTimeout: o.stopTimeout === undefined ? undefined : Number(o.stopTimeout),
    publish: o.publish,
    publishAll: o.publishAll,
    expose: o.expose,
    networkAlias: o.networkAlias,
    addHost: o.addHost,
    dns: o.dns,
    dnsSearch: o.dnsSearch,
    dnsOption: o.dnsOption,
    volume: o.volume,
    mount: o.mount,
    tmpfs: o.tmpfs,
    volumesFrom: o.volumesFrom,
    readOnly: o.readOnly,
  };
}
