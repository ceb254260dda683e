/** --platform: tbox runs what this host runs, linux/amd64, and says so for anything else. */
import { InvalidArgumentError } from '../errors.js';

const HOST = { os: 'linux', architecture: process.arch === 'x64' ? 'amd64' : process.arch };

export function checkPlatform(platform: string | undefined): void {
  if (platform === undefined) return;
  const [os, arch = HOST.architecture] = platform.toLowerCase().split('/');
  if (os !== HOST.os || arch !== HOST.architecture) {
    throw new InvalidArgumentError(
      `image platform "${platform}" is not supported: tbox runs ${HOST.os}/${HOST.architecture} images only (no emulation)`,
    );
  }
}

export const hostPlatform = () => ({ ...HOST });
