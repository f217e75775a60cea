// Fills Node's compile cache (ADR 29) with every module a netform process may load, so that no run
// loads the type stripper: the image build runs it once (the image's user cannot write the cache
// later). The same directory as bin/netform.mjs uses. Node >= 24.
import * as nodeModule from 'node:module';
import { fileURLToPath } from 'node:url';

const dir = process.env.NODE_COMPILE_CACHE ?? fileURLToPath(new URL('../node_modules/.cache/netform-compile', import.meta.url));
const r = nodeModule.enableCompileCache(dir);
if (r.status === nodeModule.constants.compileCacheStatus.FAILED) throw new Error(`compile cache: ${r.message}`);
// The entry points and what they import on demand (cluster mode, the agent, the kubectl plugin).
for (const m of ['../src/cli/main.ts', '../src/cli/kubectl.ts', '../src/cli/cluster-mode.ts', '../src/cli/agent-cluster.ts', '../src/cli/cluster-plan.ts', '../src/adapters/kube/client.ts']) {
  await import(new URL(m, import.meta.url).href);
}
nodeModule.flushCompileCache();
process.stdout.write(`compile cache: ${r.directory}\n`);
