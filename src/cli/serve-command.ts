/**
 * `neurstore serve`: runs the hub server (src/http/) over the store's registry until SIGINT/SIGTERM, then
 * closes it cleanly (in-flight requests finish, the store and registry close).
 */
import type { Command } from 'commander';
import { invalidArgument } from '../errors.js';
import { Registry } from '../registry/registry.js';
import { buildServer } from '../http/server.js';
import { parseWholeNumber } from '../store/tolerance.js';
import { storeDir, subcommand, type CliIo } from './cli-context.js';

const positiveInt = (what: string) => (v: string): number => parseWholeNumber(v, what, 0);

export function serveCommand(io: CliIo): Command {
  return subcommand('serve', io)
    .description('serve the store as a Hugging Face-compatible hub (download, upload, metadata) plus NeurStore\'s JSON API')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free port)', positiveInt('--port'), 8080)
    .option('--public-url <url>', 'the URL clients reach the server at (default: the Host header of each request)')
    .option('--anonymous-read', 'let requests without a token read public repositories')
    .option('--max-upload-bytes <n>', 'largest file one upload may carry', positiveInt('--max-upload-bytes'))
    .option('--log', 'log every request (JSON lines on stdout)')
    .action(async (o: { host: string; port: number; publicUrl?: string; anonymousRead?: boolean; maxUploadBytes?: number; log?: boolean }, cmd: Command) => {
      if (o.publicUrl !== undefined && !/^https?:\/\/[^\s/]+(\/\S*)?$/.test(o.publicUrl)) throw invalidArgument(`--public-url must be an http(s) URL, got '${o.publicUrl}'`);
      const reg = await Registry.open(storeDir(cmd.optsWithGlobals().store), { create: true });
      const app = await buildServer(reg, { anonymousRead: o.anonymousRead, publicUrl: o.publicUrl, logger: Boolean(o.log), limits: o.maxUploadBytes ? { maxUploadBytes: o.maxUploadBytes } : undefined });
      const address = await app.listen({ host: o.host, port: o.port }).catch(async (e: unknown) => {
        await reg.close();
        throw e;
      });
      io.out(`neurstore hub serving ${reg.dir} at ${address}${o.anonymousRead ? ' (anonymous reads of public repositories allowed)' : ''}`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await app.close();
      await reg.close();
      io.out('stopped');
    });
}
