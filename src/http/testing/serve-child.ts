/**
 * Test support: one `neurstore serve`-like server in a process of its own (`node --import tsx serve-child.ts
 * LOCATION [PUBLIC_URL]`), so tests can run several servers over one store as separate processes (no state
 * shared in memory or, with its own TMPDIR, on local disk). Prints `PORT n` once listening; stops on SIGTERM.
 */
import type { AddressInfo } from 'node:net';
import { Registry } from '../../registry/registry.js';
import { buildServer } from '../server.js';

const [location, publicUrl] = process.argv.slice(2);
if (!location) throw new Error('usage: serve-child.ts LOCATION [PUBLIC_URL]');
const reg = await Registry.open(location, { decodeWorkers: 0 });
const app = await buildServer(reg, { anonymousRead: false, publicUrl });
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`PORT ${(app.server.address() as AddressInfo).port}\n`);
process.once('SIGTERM', () => {
  void app.close().then(() => reg.close()).finally(() => process.exit(0));
});
