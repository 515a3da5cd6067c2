// `rill param set|get|ls`: read and change the parameters that running queries read with param('name').
import { TransportError } from "../core/errors.ts";
import { KvParamStore } from "../params/kv-store.ts";
import { parseValueText } from "../params/types.ts";
import { UsageError } from "./usage-error.ts";

export interface ParamCommandOptions {
  readonly nats: string;
  readonly bucket: string;
  /** How long to wait for the server before giving up (ms). */
  readonly timeoutMs?: number;
}

type Print = (line: string) => void;

async function withStore<T>(options: ParamCommandOptions, run: (store: KvParamStore) => Promise<T>): Promise<T> {
  const store = new KvParamStore({ servers: options.nats }, options.bucket);
  try {
    let timer: NodeJS.Timeout | undefined;
    const reached = await Promise.race([store.loaded.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), options.timeoutMs ?? 5000)))]);
    clearTimeout(timer);
    if (!reached) throw new TransportError(`Cannot reach ${store.description} within ${Math.round((options.timeoutMs ?? 5000) / 1000)} s. Is nats-server (with JetStream) running there? Give its URL with --nats.`);
    return await run(store);
  } finally {
    await store.close();
  }
}

/** Writes one value, read by the type its declaration recorded in the bucket (a number, true/false or text without one). */
export async function paramSet(name: string, text: string, options: ParamCommandOptions, print: Print): Promise<void> {
  await withStore(options, async (store) => {
    const value = parseValueText(name, text, store.types().get(name));
    const revision = await store.put(name, value);
    print(`${name} = ${JSON.stringify(value)} (revision ${revision}); running queries use it from their next epoch`);
  });
}

export async function paramGet(name: string, options: ParamCommandOptions & { readonly history?: boolean }, print: Print): Promise<void> {
  await withStore(options, async (store) => {
    if (options.history) {
      const entries = await store.history(name);
      if (entries.length === 0) throw new UsageError(`Parameter '${name}' has no value in ${store.description}.`);
      for (const entry of entries) print(`${entry.time}  revision ${entry.revision}  ${JSON.stringify(entry.value)}`);
      return;
    }
    const entry = store.entries().get(name);
    if (!entry) throw new UsageError(`Parameter '${name}' has no value in ${store.description}. Set one with 'rill param set ${name} <value>'.`);
    print(JSON.stringify(entry.value));
  });
}

export async function paramList(options: ParamCommandOptions, print: Print): Promise<void> {
  await withStore(options, async (store) => {
    const entries = [...store.entries().values()].sort((a, b) => a.name.localeCompare(b.name));
    if (entries.length === 0) print(`(no parameters in ${store.description})`);
    for (const entry of entries) {
      const type = store.types().get(entry.name);
      print(`${entry.name} = ${JSON.stringify(entry.value)}${type ? ` (${type})` : ""}  revision ${entry.revision}  ${entry.time}`);
    }
  });
}
