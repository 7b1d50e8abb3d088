/**
 * LFS uploads in flight: the objects a client PUT to a signed upload URL and a later commit names by sha256.
 * They live where every server over the same store sees them, so the PUT and the commit may reach different
 * servers (a load balancer without sticky sessions): beside a directory store in `registry/uploads/<sha256>`
 * (`DirectoryUploads`), on a PostgreSQL store in tables `hub_uploads` + `hub_upload_pages`
 * (postgres/postgres-uploads.ts). An object becomes visible only once its bytes hashed to its sha256 and size;
 * a commit that used it removes it; an object no commit took, and what an interrupted PUT left, are swept by age.
 */
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HubError, badRequest } from './hub-names.js';
import { IdentityHasher, exists, syncDir, tempName } from './durable-files.js';

/** An uploaded object no commit took is dropped after this long (upload URLs expire after an hour). */
export const UPLOAD_MAX_AGE_MS = 24 * 3600_000;
/** What an interrupted PUT left (a temporary, or pages of an unfinished object) is dropped after this long idle. */
export const PARTIAL_UPLOAD_MAX_IDLE_MS = 3600_000;
/** Sweeps run at most this often per process (on PUTs). */
const SWEEP_EVERY_MS = 10 * 60_000;

export interface RegistryUploads {
  /** True once an object of this sha256 was uploaded whole and checked (by any server on the store). */
  has(oid: string): Promise<boolean>;
  /**
   * Takes `body` as object `oid` of `size` bytes, streamed (bounded memory): visible to every server once the
   * bytes hash to `oid` and count `size`; INVALID_ARGUMENT (400) otherwise, and nothing is kept.
   */
  put(oid: string, size: number, body: Readable): Promise<void>;
  /** Writes the object's bytes to the local file `dest`; false when there is no such object. */
  copyTo(oid: string, dest: string): Promise<boolean>;
  /** Drops the object (a commit used it). */
  remove(oid: string): Promise<void>;
  /** Drops objects older than `maxAgeMs` and leftovers of interrupted PUTs idle for `partialIdleMs`; how many. */
  sweep(maxAgeMs?: number, partialIdleMs?: number): Promise<number>;
}

/** Counts and hashes the bytes of a PUT body on their way: 400 when they run past `size`. */
export function checkedBody(oid: string, size: number): { tap: Transform; finish: () => void } {
  const hasher = new IdentityHasher(size);
  let seen = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _e, done: TransformCallback) {
      seen += chunk.length;
      if (seen > size) return done(new HubError('INVALID_ARGUMENT', 'TooLarge', `the body is longer than object ${oid}'s ${size} bytes`));
      hasher.update(chunk);
      done(null, chunk);
    },
  });
  const finish = (): void => {
    if (seen !== size) throw badRequest(`the body has ${seen} bytes; object ${oid} has ${size}`);
    const got = hasher.digest().sha256;
    if (got !== oid) throw badRequest(`the body's sha256 is ${got}, not ${oid}`);
  };
  return { tap, finish };
}

/** Runs `sweep` at most every SWEEP_EVERY_MS, in the background, its failures ignored (the next one retries). */
export function sweeper(uploads: Pick<RegistryUploads, 'sweep'>): () => void {
  let last = 0;
  return () => {
    const now = Date.now();
    if (now - last < SWEEP_EVERY_MS) return;
    last = now;
    void uploads.sweep().catch(() => undefined);
  };
}

const OID = /^[0-9a-f]{64}$/;

/** Uploads as files `<dir>/<sha256>`, written to a temporary while hashed, fsynced, renamed in place. */
export class DirectoryUploads implements RegistryUploads {
  private readonly maybeSweep = sweeper(this);

  constructor(readonly dir: string) {}

  private pathOf(oid: string): string {
    if (!OID.test(oid)) throw badRequest(`'${oid}' is not a sha256`);
    return join(this.dir, oid);
  }

  has(oid: string): Promise<boolean> {
    return exists(this.pathOf(oid));
  }

  async put(oid: string, size: number, body: Readable): Promise<void> {
    this.maybeSweep();
    const final = this.pathOf(oid);
    if (await exists(final)) {
      body.resume();
      return;
    }
    await fsp.mkdir(this.dir, { recursive: true });
    const tmp = tempName(final);
    const { tap, finish } = checkedBody(oid, size);
    try {
      await pipeline(body, tap, createWriteStream(tmp));
      finish();
      const fh = await fsp.open(tmp, 'r+');
      await fh.sync().finally(() => fh.close());
      await fsp.rename(tmp, final);
      await syncDir(this.dir);
    } finally {
      await fsp.rm(tmp, { force: true });
    }
  }

  async copyTo(oid: string, dest: string): Promise<boolean> {
    const from = this.pathOf(oid);
    try {
      await fsp.link(from, dest);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    }
    try {
      await pipeline(createReadStream(from), createWriteStream(dest));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  async remove(oid: string): Promise<void> {
    await fsp.rm(this.pathOf(oid), { force: true });
  }

  async sweep(maxAgeMs = UPLOAD_MAX_AGE_MS, partialIdleMs = PARTIAL_UPLOAD_MAX_IDLE_MS): Promise<number> {
    let names: string[];
    try {
      names = await fsp.readdir(this.dir);
    } catch {
      return 0;
    }
    const now = Date.now();
    let dropped = 0;
    for (const name of names) {
      const partial = name.endsWith('.tmp');
      if (!partial && !OID.test(name)) continue;
      const st = await fsp.stat(join(this.dir, name)).catch(() => undefined);
      if (st && now - st.mtimeMs > (partial ? partialIdleMs : maxAgeMs)) {
        await fsp.rm(join(this.dir, name), { force: true });
        dropped++;
      }
    }
    return dropped;
  }
}
