/**
 * The hub commands: `push`, `pull`, `log`, `tag`, `lineage`, `token`: thin renderers of the registry
 * (src/registry/). `push DIR ns/name` makes the branch hold exactly DIR's files as one new commit; `pull
 * ns/name[@rev] -o DIR` writes them back (byte-exact in lossless mode).
 */
import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import { userInfo } from 'node:os';
import { invalidArgument, notFound } from '../errors.js';
import { Registry } from '../registry/registry.js';
import { pushDirectory } from '../registry/push-directory.js';
import { checkRepoId } from '../registry/hub-names.js';
import { lineageGraph, lineageOf, type LineageGraph } from '../registry/lineage.js';
import { createToken, type Scope } from '../registry/tokens.js';
import type { Mode } from '../store/store-types.js';
import { parseTolerance } from '../store/tolerance.js';
import { storeDir, subcommand, type CliIo } from './cli-context.js';
import { formatBytes, table, toJson } from './format-output.js';

/** Opens the registry of the command's store for one command. */
export async function withRegistry<T>(cmd: Command, f: (r: Registry) => Promise<T>, access: 'read' | 'write' = 'write'): Promise<T> {
  const dir = storeDir(cmd.optsWithGlobals().store);
  const reg = await Registry.open(dir, { readOnly: access === 'read' });
  try {
    return await f(reg);
  } finally {
    await reg.close();
  }
}

/** `ns/name[@rev]` split in two. */
function repoAndRev(spec: string): { repo: string; rev?: string } {
  const at = spec.indexOf('@');
  const repo = at < 0 ? spec : spec.slice(0, at);
  const rev = at < 0 ? undefined : spec.slice(at + 1);
  if (rev === '') throw invalidArgument(`'${spec}' has an empty revision after '@'`);
  return { repo: checkRepoId(repo), rev };
}

const date = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');

export function pushCommand(io: CliIo): Command {
  return subcommand('push', io)
    .argument('<dir>', 'directory whose files become the new commit')
    .argument('<repo>', 'repository namespace/name (created if missing)')
    .description('commit the files of DIR to a repository: models into the tensor store, other files as blobs')
    .option('--branch <b>', 'branch to commit to', 'main')
    .option('--message <m>', 'commit message', 'push')
    .addOption(new Option('--mode <mode>', 'how model files are stored (default: the repository\'s, lossless for a new one)').choices(['lossless', 'default', 'paper']))
    .option('--tolerance <t>', 'max |x - x\'| per element in the lossy modes (implies --mode default)', (v: string) => parseTolerance(v))
    .option('--private', 'a new repository is private (read only with a token)')
    .option('--json', 'machine-readable output')
    .action(async (dir: string, repo: string, o: { branch: string; message: string; mode?: Mode; tolerance?: number; private?: boolean; json?: boolean }, cmd: Command) => {
      const r = await pushDirectory(storeDir(cmd.optsWithGlobals().store), dir, repo, {
        branch: o.branch, message: o.message, mode: o.mode, tolerance: o.tolerance, private: o.private, author: userInfo().username,
        onProgress: io.tty ? (m) => io.err(`${m}\n`) : undefined,
      });
      if (o.json) return io.out(toJson(r));
      io.out(table(['FILE', 'STORED AS', 'SIZE', 'NEW ON DISK'], r.changed.map((c) => [c.path, c.kind, formatBytes(c.size), c.reused ? 'reused' : formatBytes(c.storedBytes)])));
      const total = r.changed.reduce((n, c) => n + c.size, 0);
      const added = r.changed.reduce((n, c) => n + c.storedBytes, 0);
      io.out(`committed ${r.commit.id} to ${repo}@${o.branch}: ${r.files.length} files, ${formatBytes(total)} pushed, ${formatBytes(added)} new on disk`);
    });
}

export function pullCommand(io: CliIo): Command {
  return subcommand('pull', io)
    .argument('<repo>', 'namespace/name[@revision] (a branch, tag or commit id; default main)')
    .description('write every file of a repository at a revision into a directory')
    .requiredOption('-o, --output <dir>', 'directory to write the files into')
    .action(async (spec: string, o: { output: string }, cmd: Command) => {
      const { repo, rev } = repoAndRev(spec);
      const r = await withRegistry(cmd, (reg) => reg.pull(repo, rev, resolve(o.output)), 'read');
      io.out(`pulled ${repo}@${r.commit.id}: ${r.files.length} files, ${formatBytes(r.files.reduce((n, f) => n + f.size, 0))} into ${o.output}`);
    });
}

export function logCommand(io: CliIo): Command {
  return subcommand('log', io)
    .argument('<repo>', 'namespace/name[@revision]')
    .description('the commits of a branch, newest first, with the tags and branches pointing at them')
    .option('-n, --max-count <n>', 'show at most this many commits', (v) => Number.parseInt(v, 10), 100)
    .option('--json', 'machine-readable output')
    .action(async (spec: string, o: { maxCount: number; json?: boolean }, cmd: Command) => {
      const { repo, rev } = repoAndRev(spec);
      await withRegistry(cmd, async (reg) => {
        const commits = await reg.log(repo, rev, o.maxCount > 0 ? o.maxCount : 100);
        const refs = await reg.refs(repo);
        if (o.json) return io.out(toJson({ refs, commits }));
        for (const c of commits) {
          const names = refs.filter((r) => r.commit === c.id).map((r) => (r.kind === 'tag' ? `tag: ${r.name}` : r.name));
          io.out(`${c.id}${names.length ? ` (${names.join(', ')})` : ''}  ${date(c.createdMs)}  ${c.author}  ${c.message.split('\n')[0]}`);
        }
      }, 'read');
    });
}

export function tagCommand(io: CliIo): Command {
  return subcommand('tag', io)
    .argument('<repo>', 'namespace/name[@revision] to tag (default main)')
    .argument('[tag]', 'tag name (without it: list the tags)')
    .description('tag a revision of a repository (tags do not move), or list its tags')
    .option('-d, --delete', 'delete the tag')
    .action(async (spec: string, tag: string | undefined, o: { delete?: boolean }, cmd: Command) => {
      const { repo, rev } = repoAndRev(spec);
      if (!tag) {
        const refs = await withRegistry(cmd, async (reg) => reg.refs(repo), 'read');
        const tags = refs.filter((r) => r.kind === 'tag');
        return io.out(tags.length ? table(['TAG', 'COMMIT'], tags.map((t) => [t.name, t.commit])) : 'no tags');
      }
      if (o.delete) {
        await withRegistry(cmd, (reg) => reg.deleteTag(repo, tag));
        return io.out(`deleted tag ${tag} of ${repo}`);
      }
      const ref = await withRegistry(cmd, (reg) => reg.tag(repo, tag, rev));
      io.out(`tagged ${repo}@${ref.commit} as ${tag}`);
    });
}

export function lineageCommand(io: CliIo): Command {
  return subcommand('lineage', io)
    .argument('<repo>', 'namespace/name')
    .description('the family tree of a repository: declared bases (model card base_model) and bases found in the store, with bytes saved per edge')
    .option('--json', 'machine-readable output')
    .action(async (repo: string, o: { json?: boolean }, cmd: Command) => {
      checkRepoId(repo);
      const g = await withRegistry(cmd, async (reg) => {
        await reg.repo(repo);
        return lineageOf(await lineageGraph(reg), repo);
      }, 'read');
      if (o.json) return io.out(toJson(g));
      for (const line of renderTree(g, repo)) io.out(line);
    });
}

/** The graph as an indented tree from its roots; each child line says how it is linked and the bytes saved. */
export function renderTree(g: LineageGraph, focus: string): string[] {
  const children = new Map<string, typeof g.edges>();
  for (const e of g.edges) children.set(e.base, [...(children.get(e.base) ?? []), e]);
  const nodes = new Set([focus, ...g.edges.flatMap((e) => [e.base, e.child])]);
  const roots = [...nodes].filter((n) => !g.edges.some((e) => e.child === n));
  const lines: string[] = [];
  const seen = new Set<string>();
  const walk = (node: string, depth: number, how: string) => {
    const mark = node === focus ? ' *' : '';
    lines.push(`${'  '.repeat(depth)}${depth ? '└─ ' : ''}${node}${mark}${how}`);
    if (seen.has(node)) return;
    seen.add(node);
    for (const e of children.get(node) ?? []) {
      const via = [e.declared ? 'base_model' : '', e.sharedTensors ? `${e.sharedTensors} shared tensors, ${formatBytes(e.bytesSaved)} saved` : ''].filter(Boolean).join('; ');
      walk(e.child, depth + 1, `  (${via})`);
    }
  };
  for (const r of roots.length ? roots : [focus]) walk(r, 0, '');
  if (g.edges.length === 0) lines.push('no known bases or descendants');
  return lines;
}

export function tokenCommand(io: CliIo): Command {
  const token = subcommand('token', io).description('access tokens of the hub server (hf_... tokens, stored hashed)');
  token.addCommand(subcommand('create', io)
    .description('create a token and print it once')
    .requiredOption('--name <n>', 'a name for the token (shown by whoami)')
    .addOption(new Option('--scope <s>', 'read, or write (which includes read)').choices(['read', 'write']).makeOptionMandatory())
    .option('--repo <pattern>', "repositories it covers: '*', 'namespace/*' or 'namespace/name'", '*')
    .action(async (o: { name: string; scope: Scope; repo: string }, cmd: Command) => {
      const dir = storeDir(cmd.optsWithGlobals().store);
      const reg = await Registry.open(dir, { create: true });
      try {
        const { secret, token: t } = await createToken(reg.db, o.name, o.scope, o.repo);
        io.out(secret);
        io.err(`token '${t.name}' (${t.scope}, repositories ${t.repoPattern}) created; it is shown only this once\n`);
      } finally {
        await reg.close();
      }
    }));
  token.addCommand(subcommand('list', io).description('list tokens (never their secrets)').action(async (_o, cmd: Command) => {
    const tokens = await withRegistry(cmd, async (reg) => reg.db.tokens(), 'read');
    io.out(tokens.length ? table(['NAME', 'SCOPE', 'REPOSITORIES', 'CREATED'], tokens.map((t) => [t.name, t.scope, t.repoPattern, date(t.createdMs)])) : 'no tokens');
  }));
  token.addCommand(subcommand('revoke', io).argument('<name>', 'token name').description('revoke a token').action(async (name: string, _o, cmd: Command) => {
    const n = await withRegistry(cmd, (reg) => reg.db.write((tx) => tx.deleteToken(name)));
    if (n === 0) throw notFound(`no token named '${name}'`);
    io.out(`revoked token ${name}`);
  }));
  return token;
}
