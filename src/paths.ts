import path from 'node:path';
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
export const layerDir = (diffId: string) => path.join(layersDir(), diffId.replace(/^sha256:/, ''));
export const stateDir = () => path.join(dataRoot(), 'state');
export const databasePath = () => path.join(stateDir(), 'tbox.db');
export const containerDir = (id: string) => path.join(stateDir(), 'containers', id);
