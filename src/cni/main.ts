#!/usr/bin/env node
/**
 * tbox-cni: a CNI plugin (spec 1.0.0; 0.3.x and 0.4.0 results). The runtime
 * sets CNI_COMMAND and friends and writes the network config on stdin; the
 * answer is JSON on stdout: a result, a version list, or an error object
 * with the spec's code, with a non-zero exit.
 */
import fs from 'node:fs';
import { asTboxError, InvalidArgumentError } from '../errors.js';
import { CNI_CODES, CniError, parseRequest, SUPPORTED_VERSIONS, type CniRequest } from './request.js';

function answer(req: CniRequest): unknown {
  if (req.command === 'VERSION') return { cniVersion: req.config.cniVersion, supportedVersions: SUPPORTED_VERSIONS };
  // The IPAM database and its firewall chains belong to the config's data root, not to a user's tbox.
  process.env.TBOX_ROOT = req.config.dataDir;
  // Loaded only now: VERSION and a bad request need no database or network code.
  const plugin = require('./plugin.js') as typeof import('./plugin.js');
  if (req.command === 'ADD') return plugin.add(req);
  if (req.command === 'DEL') plugin.del(req);
  else plugin.check(req);
  return undefined;
}

/** Any failure as the spec's error object. */
function asCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  if ((err as { code?: string }).code === 'SQLITE_BUSY')
    return new CniError(CNI_CODES.tryAgainLater, 'the IPAM database is busy', String(err));
  const e = asTboxError(err);
  return new CniError(e instanceof InvalidArgumentError ? CNI_CODES.invalidConfig : CNI_CODES.internal, e.message);
}

function main(): number {
  let cniVersion = '1.0.0';
  try {
    const stdin = fs.readFileSync(0, 'utf8');
    try {
      cniVersion = String((JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion ?? cniVersion);
    } catch {
      // parseRequest reports it with the spec's code
    }
    const out = answer(parseRequest(process.env, stdin));
    if (out !== undefined) process.stdout.write(`${JSON.stringify(out)}\n`);
    return 0;
  } catch (err) {
    const e = asCniError(err);
    process.stdout.write(`${JSON.stringify({ cniVersion, code: e.code, msg: e.message, details: e.details })}\n`);
    return 1;
  }
}

process.env.PATH ||= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
process.exitCode = main();
