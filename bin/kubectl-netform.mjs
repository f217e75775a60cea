#!/usr/bin/env node
// The kubectl plugin `kubectl netform` (kubectl runs an executable named kubectl-netform found on the
// PATH). Like bin/netform.mjs: plain JavaScript, so an older system Node can start it and hand over to
// the Node >= 24 that `npm ci` installed, which runs the TypeScript by type stripping.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major >= 24) {
  // Node's compile cache (ADR 29): the sources' type-stripped and compiled code is kept on disk, so a
  // run after the first loads neither the type stripper (its WebAssembly is about 20 MB of RSS) nor
  // compiles again. In the checkout (node_modules/.cache), else Node's default under the temporary
  // directory; NODE_COMPILE_CACHE chooses another place, NODE_DISABLE_COMPILE_CACHE=1 turns it off.
  if (!process.env.NODE_COMPILE_CACHE && !process.env.NODE_DISABLE_COMPILE_CACHE && typeof nodeModule.enableCompileCache === 'function') {
    const here = nodeModule.enableCompileCache(fileURLToPath(new URL('../node_modules/.cache/netform-compile', import.meta.url)));
    if (here.status === nodeModule.constants.compileCacheStatus.FAILED) nodeModule.enableCompileCache();
  }
  const { kubectlMain } = await import('../src/cli/kubectl.ts');
  process.exitCode = await kubectlMain(process.argv.slice(2));
} else {
  // Node resolves a symlink on the PATH to this file: import.meta.url is in the checkout.
  const self = fileURLToPath(import.meta.url);
  const local = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(local)) {
    process.stderr.write(
      `kubectl-netform needs Node.js >= 24 (this is ${process.version}); run \`npm ci\` in the netform ` +
        'checkout to install it locally, or put a newer node on the PATH.\n',
    );
    process.exit(1);
  }
  const child = spawn(local, [self, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
