#!/usr/bin/env node
// Entry point of the `netform` command. netform is TypeScript run by Node >= 24's built-in
// type stripping; this shim is plain JavaScript so that an older system Node can still start
// it and hand over to the Node that `npm ci` installed (the `node` devDependency).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { fileURLToPath } from 'node:url';

// V8's heap sized for a long-lived process holding a large desired state (ADR 26): 8 MB semi-spaces
// and an old generation that grows by 15% at a time, not by up to 4x. Admitting 60,000 objects
// peaks at about 240 MB instead of 470 MB, for about 15% more CPU. Node reads these flags
// only at start (not from NODE_OPTIONS), so the process re-executes itself once with them (same pid).
const HEAP_FLAGS = ['--max-semi-space-size=8', '--heap-growing-percent=15'];
const major = Number(process.versions.node.split('.')[0]);
if (major >= 24 && !HEAP_FLAGS.every((f) => process.execArgv.includes(f)) && typeof process.execve === 'function' && !process.env.NETFORM_NO_HEAP_FLAGS) {
  process.execve(process.execPath, [process.execPath, ...process.execArgv, ...HEAP_FLAGS, fileURLToPath(import.meta.url), ...process.argv.slice(2)], process.env);
}
if (major >= 24) {
  // Node's compile cache (ADR 29): the sources' type-stripped and compiled code is kept on disk, so a
  // run after the first loads neither the type stripper (its WebAssembly is about 20 MB of RSS) nor
  // compiles again. In the checkout (node_modules/.cache), else Node's default under the temporary
  // directory; NODE_COMPILE_CACHE chooses another place, NODE_DISABLE_COMPILE_CACHE=1 turns it off.
  if (!process.env.NODE_COMPILE_CACHE && !process.env.NODE_DISABLE_COMPILE_CACHE && typeof nodeModule.enableCompileCache === 'function') {
    const here = nodeModule.enableCompileCache(fileURLToPath(new URL('../node_modules/.cache/netform-compile', import.meta.url)));
    if (here.status === nodeModule.constants.compileCacheStatus.FAILED) nodeModule.enableCompileCache();
  }
  const { main } = await import('../src/cli/main.ts');
  process.exitCode = await main(process.argv.slice(2));
} else {
  const local = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(local)) {
    process.stderr.write(
      `netform needs Node.js >= 24 (this is ${process.version}); run \`npm ci\` in the netform ` +
        'checkout to install it locally, or put a newer node on the PATH.\n',
    );
    process.exit(1);
  }
  const child = spawn(local, [...HEAP_FLAGS, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
