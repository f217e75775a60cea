#!/usr/bin/env node
// Entry point of the `netform` command. netform is TypeScript run by Node >= 24's built-in
// type stripping; this shim is plain JavaScript so that an older system Node can still start
// it and hand over to the Node that `npm ci` installed (the `node` devDependency).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major >= 24) {
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
  const child = spawn(local, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
