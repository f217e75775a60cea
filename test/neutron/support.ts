// Helpers for tests against the real Neutron: a raw API reader that never goes through the driver,
// a driver factory, and the netform CLI with the production drivers.
import { pino } from 'pino';
import { inject } from 'vitest';
import type { ProviderConfig } from '../../src/drivers/driver.ts';
import { NeutronDriver, type NeutronDriverOptions } from '../../src/drivers/neutron/driver.ts';

export const neutronUrl = (): string => inject('neutronUrl');

/** Reads Neutron directly with fetch — the independent check of what the driver did. */
export async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(neutronUrl() + path, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

export interface RawNetwork {
  id: string;
  name: string;
  description: string;
  mtu: number;
  admin_state_up: boolean;
  shared: boolean;
  port_security_enabled: boolean;
  'provider:segmentation_id': number | null;
  'provider:physical_network': string | null;
  revision_number: number;
  tags: string[];
  subnets: string[];
  qos_policy_id: string | null;
}

export async function networksNamed(name: string): Promise<RawNetwork[]> {
  return (await api<{ networks: RawNetwork[] }>('GET', `/v2.0/networks?name=${encodeURIComponent(name)}`)).body.networks;
}

export async function subnetsOf(networkId: string): Promise<Record<string, unknown>[]> {
  return (await api<{ subnets: Record<string, unknown>[] }>('GET', `/v2.0/subnets?network_id=${networkId}`)).body.subnets;
}

export function driver(opts: NeutronDriverOptions = {}): NeutronDriver {
  const config: ProviderConfig = {
    name: 'neutron-test',
    type: 'neutron',
    endpoint: neutronUrl(),
    tls: { insecureSkipVerify: false },
    requestTimeoutMs: 30_000,
    maxConcurrency: 4,
    options: { auth: 'noauth' },
  };
  return new NeutronDriver(config, pino({ level: 'silent' }), opts);
}

/** A run-unique suffix, so tests never see each other's objects on the shared server. */
export const uniq = () => Math.random().toString(36).slice(2, 8);
