import { startPgServer } from '../src/testing/pg-server.js';
import { runCli } from '../src/cli/testing/run-cli.js';
const s = await startPgServer();
try {
  console.log(await runCli('init', s.url));
  console.log(await runCli('--store', s.url, 'ls'));
} finally { await s.stop(); }
