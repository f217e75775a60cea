// The netform CLI with the real Neutron driver, which — when NETFORM_TEST_HOLD_FILE is set — writes
// the id of the first network Neutron created to that file and then never returns: the moment a test
// SIGKILLs it is right after Neutron committed the create and before netform recorded anything.
import { writeFileSync } from 'node:fs';
import { main } from '../../src/cli/main.ts';
import { NeutronDriver } from '../../src/drivers/neutron/driver.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';

const holdFile = process.env.NETFORM_TEST_HOLD_FILE;
const registry = new DriverRegistry().register('neutron', (config, deps) =>
  new NeutronDriver(config, deps.log, {
    afterNetworkCreate: async (id) => {
      if (!holdFile) return;
      writeFileSync(holdFile, id);
      await new Promise(() => {});
    },
  }),
);
process.exitCode = await main(process.argv.slice(2), { registry });
