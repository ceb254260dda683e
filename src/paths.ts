import path from 'node:path';
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from './errors.js';

/** The checkout (or installed package) that this code runs from. */
export const installDir = path.resolve(__dirname, '..');

export const shimPath = path.join(installDir, 'dist', 'tbox-shim');
export const cliPath = path.join(installDir, 'dist', 'cli.js');
export const recipesDir = path.join(installDir, 'images');

/** Where images and state live: TBOX_ROOT, or the checkout itself. */
export function dataRoot(): string {
  const root = path.resolve(process.env.TBOX_ROOT || installDir);
  // overlayfs splits lowerdir on ':' and options on ',' so neither may appear.
  if (/[:,]/.test(root)) {
    throw new InvalidArgumentError(`data root ${root} contains ':' or ',', which overlayfs cannot mount: set TBOX_ROOT to another path`);
  }
  return root;
}

export const imagesDir = () => path.join(dataRoot(), 'images');
export const layersDir = () => path.join(imagesDir(), 'layers');
/** A layer's directory; the diff_id is checked here too, as it comes from image configs. */
export const layerDir = (diffId: string) => {
  if (!/^sha256:[a-f0-9]{64}$/.test(diffId)) throw new InvalidArgumentError(`invalid layer diff_id ${JSON.stringify(diffId.slice(0, 80))}`);
  return path.join(layersDir(), diffId.slice('sha256:'.length));
};
/** Blob downloads in progress, or kept to be resumed. */
export const downloadsDir = () => path.join(imagesDir(), 'downloads');
export const stateDir = () => path.join(dataRoot(), 'state');
export const databasePath = () => path.join(stateDir(), 'tbox.db');
export const containerDir = (id: string) => path.join(stateDir(), 'containers', id);
/** What the shim writes for a container: its log, and its exit code once it ends. */
export const logPath = (id: string) => path.join(containerDir(id), 'container.log');
export const exitFilePath = (id: string) => path.join(containerDir(id), 'exit');
/** A volume's data, as Docker lays it out: <root>/volumes/<name>/_data. The name is checked where it enters (volume/volumes.ts). */
export const volumeDataDir = (name: string) => path.join(dataRoot(), 'volumes', name, '_data');

/**
 * A short tag naming this data root on shared kernel objects (bridge
 * aliases), so `system reset` can find what it made with no database.
 */
export const dataRootTag = () => `tbox:${createHash('sha256').update(dataRoot()).digest('hex').slice(0, 12)}`;
