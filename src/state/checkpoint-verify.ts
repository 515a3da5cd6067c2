// Checks an LMDB data file before lmdb maps it: a damaged file must end in a CheckpointError, never take the process down.
//
// lmdb trusts its meta pages: garbage there, or pages cut off by a truncation, make it read through wild pointers
// (SIGSEGV) or past the end of the mapping (SIGBUS). The meta pages are read here with node:fs (no mmap), which costs
// two small reads. The one case a header cannot settle (a file shorter than its last page, which LMDB allows when the
// last pages of a commit were freed again) is settled by reading every entry in a short-lived child process: a
// signal there is damage here.
import { spawnSync } from "node:child_process";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { CheckpointError } from "../core/errors.ts";

const MAGIC = 0xbeefc0de;
const DATA_VERSION = 2;
const P_BRANCH = 0x01;
const P_LEAF = 0x02;
const P_META = 0x08;
/** MDB_page_header: page number (8), txnid (8), pad (2), flags (2), lower and upper bounds (4). */
const PAGE_HEADER = 24;
/** lmdb-js's overlapping sync keeps a third meta in the second half of page 0 (without magic or version). */
const OVERLAPPING_SYNC = 0x1000;
const NO_PAGE = 0xffffffffffffffffn;

interface Meta {
  readonly offset: number;
  readonly flags: number;
  readonly magic: number;
  readonly version: number;
  readonly pageSize: number;
  readonly envFlags: number;
  readonly freeRoot: bigint;
  readonly mainRoot: bigint;
  readonly lastPage: bigint;
  readonly txnId: bigint;
}

function readMeta(buffer: Buffer, offset: number): Meta {
  const meta = offset + PAGE_HEADER;
  return {
    offset,
    flags: buffer.readUInt16LE(offset + 18),
    magic: buffer.readUInt32LE(meta),
    version: buffer.readUInt32LE(meta + 4) & 0xffff,
    // MDB_meta: magic, version, address, map size, then two MDB_db of 48 bytes (the first's pad is the page size).
    pageSize: buffer.readUInt32LE(meta + 24),
    envFlags: buffer.readUInt16LE(meta + 28),
    freeRoot: buffer.readBigUInt64LE(meta + 24 + 40),
    mainRoot: buffer.readBigUInt64LE(meta + 72 + 40),
    lastPage: buffer.readBigUInt64LE(meta + 120),
    txnId: buffer.readBigUInt64LE(meta + 128),
  };
}

/** What a look at the data file found. `short`: the file ends before the last page the meta names (see the header). */
export type HeaderVerdict = { readonly kind: "absent" } | { readonly kind: "sound" } | { readonly kind: "short"; readonly reason: string };

/** Reads the meta pages of `<folder>/data.mdb` and throws a CheckpointError naming the file if lmdb could not open it safely. */
export function verifyHeader(folder: string): HeaderVerdict {
  const file = join(folder, "data.mdb");
  let descriptor: number;
  try {
    descriptor = openSync(file, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { kind: "absent" };
    throw new CheckpointError(`Cannot read the checkpoint file '${file}': ${String(error)}`, { cause: error });
  }
  try {
    const size = fstatSync(descriptor).size;
    // An empty file is how LMDB finds a new environment (a crash right after creating it): it writes the metas.
    if (size === 0) return { kind: "sound" };
    const readStart = (): Buffer => {
      const start = Buffer.alloc(Math.min(fstatSync(descriptor).size, 2 * 65536));
      readSync(descriptor, start, 0, start.length, 0);
      return start;
    };
    // These reads take no LMDB reader lock: another process (a worker sharing the environment) may commit between
    // the meta pages and the root page, and reuse a page the metas read first still named. A verdict of damage
    // therefore counts only when no transaction committed while it was reached; otherwise it is read again.
    for (let attempt = 1; ; attempt++) {
      const start = readStart();
      try {
        return judge(file, fstatSync(descriptor).size, start, (offset, length) => {
          const page = Buffer.alloc(length);
          return readSync(descriptor, page, 0, length, offset) === length ? page : undefined;
        });
      } catch (error) {
        const before = latestTransaction(start);
        if (!(error instanceof CheckpointError) || attempt >= 50 || before === undefined || latestTransaction(readStart()) === before) throw error;
      }
    }
  } finally {
    closeSync(descriptor);
  }
}

/** The highest transaction id the meta pages in `start` name, or undefined when they cannot be read as metas. */
function latestTransaction(start: Buffer): bigint | undefined {
  if (start.length < PAGE_HEADER + 160) return undefined;
  const first = readMeta(start, 0);
  if (first.pageSize < 512 || first.pageSize > 65536 || start.length < first.pageSize + PAGE_HEADER + 160) return undefined;
  const candidates = [first, readMeta(start, first.pageSize)];
  if ((first.envFlags & OVERLAPPING_SYNC) !== 0) candidates.push(readMeta(start, first.pageSize / 2));
  return candidates.reduce((best, meta) => (meta.txnId > best ? meta.txnId : best), 0n);
}

function judge(file: string, size: number, start: Buffer, readPage: (offset: number, length: number) => Buffer | undefined): HeaderVerdict {
  const damaged = (what: string): CheckpointError => new CheckpointError(`The checkpoint file '${file}' is damaged: ${what}. Restore the checkpoint location from a backup, or start the query with a new checkpoint location (its state then starts empty).`);
  if (start.length < PAGE_HEADER + 160) throw damaged(`it is ${size} bytes long, shorter than one LMDB meta page`);
  const first = readMeta(start, 0);
  const pageSize = first.pageSize;
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) throw damaged(`its first meta page gives a page size of ${pageSize}`);
  if (size < 2 * pageSize) throw damaged(`it is ${size} bytes long, shorter than its two meta pages of ${pageSize} bytes`);
  const metas = [first, readMeta(start, pageSize)];
  for (const [index, meta] of metas.entries()) {
    if ((meta.flags & P_META) === 0 || meta.magic !== MAGIC) throw damaged(`meta page ${index} is not an LMDB meta page (magic 0x${meta.magic.toString(16)}, flags 0x${meta.flags.toString(16)})`);
    if (meta.version !== DATA_VERSION) throw damaged(`meta page ${index} has LMDB data version ${meta.version}, not ${DATA_VERSION}`);
    if (meta.pageSize !== pageSize) throw damaged(`its meta pages disagree on the page size (${pageSize} and ${meta.pageSize})`);
  }
  // LMDB takes the meta with the highest transaction id, the half-page one included (it has no magic to check).
  const candidates = (first.envFlags & OVERLAPPING_SYNC) !== 0 ? [first, readMeta(start, pageSize / 2), ...metas.slice(1)] : metas;
  const latest = candidates.reduce((best, meta) => (meta.txnId > best.txnId ? meta : best));
  const pages = BigInt(Math.floor(size / pageSize));
  if (latest.lastPage < 1n || latest.lastPage > 1n << 40n) throw damaged(`its latest meta (transaction ${latest.txnId}) names page ${latest.lastPage} as the last one`);
  for (const [name, root] of [["main", latest.mainRoot], ["free-page", latest.freeRoot]] as const) {
    if (root === NO_PAGE) continue;
    if (root < 2n || root > latest.lastPage) throw damaged(`the root of its ${name} tree is page ${root}, outside pages 2..${latest.lastPage}`);
    if (root >= pages) throw damaged(`it is ${size} bytes long and ends before the root page ${root} of its ${name} tree (pages of ${pageSize} bytes): it was cut short`);
    const page = readPage(Number(root) * pageSize, PAGE_HEADER);
    const flags = page?.readUInt16LE(18) ?? 0;
    if (!page || page.readBigUInt64LE(0) !== root || (flags & (P_BRANCH | P_LEAF)) === 0) throw damaged(`the root page ${root} of its ${name} tree is not a tree page`);
  }
  if (latest.lastPage >= pages) return { kind: "short", reason: `it is ${size} bytes long (${pages} pages) and its latest meta names page ${latest.lastPage} as the last one` };
  return { kind: "sound" };
}

/**
 * Opens the environment in a child process (plain node, lmdb only) and reads every entry. A signal or an lmdb error
 * there is damage; the process that asked is not touched. Costs a Node start-up, so it runs only when the header
 * leaves a doubt.
 */
export function scanInChild(folder: string, lmdbUrl: string, reason: string): void {
  const script = `
    const [lmdbUrl, path] = process.argv.slice(1);
    const { open } = await import(lmdbUrl);
    const db = open({ path, compression: false, noSubdir: false, overlappingSync: false });
    let entries = 0;
    for (const { value } of db.getRange({})) if (value !== undefined) entries++;
    await db.close();
    process.stdout.write(String(entries));`;
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", script, lmdbUrl, folder], { encoding: "utf8", timeout: 120_000 });
  if (child.status === 0) return;
  const file = join(folder, "data.mdb");
  const how = child.signal ? `reading every entry in a separate process ended with ${child.signal}` : `reading it failed: ${lastLine(child.stderr) || child.error?.message || `exit code ${child.status}`}`;
  throw new CheckpointError(`The checkpoint file '${file}' is damaged: ${reason}, and ${how}. Restore the checkpoint location from a backup, or start the query with a new checkpoint location (its state then starts empty).`);
}

function lastLine(text: string | undefined): string {
  const lines = (text ?? "").split("\n").map((line) => line.trim()).filter((line) => line.startsWith("Error") || line.includes("MDB_"));
  return lines[0] ?? "";
}
