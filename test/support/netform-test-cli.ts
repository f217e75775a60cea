// The netform CLI with the test driver registered for both provider types: what end-to-end tests
// spawn. Production's `bin/netform.mjs` never registers it.
import { main } from '../../src/cli/main.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import { testDriverFactory } from './test-driver.ts';

const registry = new DriverRegistry().register('neutron', testDriverFactory).register('ucsm', testDriverFactory);
process.exitCode = await main(process.argv.slice(2), { registry });
