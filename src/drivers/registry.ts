// Driver lookup by provider type.
import type { Logger } from 'pino';
import type { DriverFactory, ProviderConfig, ProviderConfigOf, ProviderDriver, ProviderType } from './driver.ts';
import { neutronDriverFactory } from './neutron/driver.ts';
import { ucsmDriverFactory } from './ucsm/driver.ts';

/** Maps provider types to driver factories. The production registry holds only real drivers;
 *  tests compose their own (the in-memory test driver is never registered in production). */
export class DriverRegistry {
  readonly #factories = new Map<ProviderType, DriverFactory>();

  /** A factory for one type gets that type's config (its options typed from the CRD). */
  register<T extends ProviderType>(type: T, factory: DriverFactory<T>): this {
    this.#factories.set(type, (config, deps) => {
      if (!isOfType(config, type)) throw new Error(`a provider of type ${config.type} given to the ${type} driver`);
      return factory(config, deps);
    });
    return this;
  }

  has(type: ProviderType): boolean {
    return this.#factories.has(type);
  }

  types(): ProviderType[] {
    return [...this.#factories.keys()].sort();
  }

  /** Builds a driver for a provider; throws if no driver is registered for its type. */
  create(config: ProviderConfig, deps: { log: Logger }): ProviderDriver {
    const f = this.#factories.get(config.type);
    if (!f) throw new Error(`no driver for provider type ${config.type} in this build`);
    return f(config, deps);
  }
}

function isOfType<T extends ProviderType>(config: ProviderConfig, type: T): config is ProviderConfigOf<T> {
  return config.type === type;
}

/** The drivers built into netform. */
export function builtinDrivers(): DriverRegistry {
  return new DriverRegistry().register('neutron', neutronDriverFactory).register('ucsm', ucsmDriverFactory);
}
