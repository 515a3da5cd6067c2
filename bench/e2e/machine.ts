// The machine the figures came from: CPU, cores, memory, OS, Node and nats-server versions.
import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { cpus, platform, release, totalmem } from "node:os";
import { promisify } from "node:util";

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly natsServer: string;
  readonly natsClient: string;
}

export async function describeMachine(natsServerBinary: string | undefined): Promise<Machine> {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? "unknown",
    cores: list.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    // With the heap and GC flags it runs under (`npm run bench` passes src/core/node-flags.ts's QUERY_NODE_FLAGS).
    node: [process.version, ...process.execArgv.filter((flag) => /^--(no-)?[a-z-]*(gc|scavenge|space-size|sweeping)/.test(flag))].join(" "),
    natsServer: natsServerBinary ? await versionOf(natsServerBinary) : "not installed",
    natsClient: await packageVersion("@nats-io/transport-node"),
  };
}

export function machineLine(machine: Machine): string {
  return `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}, nats-server ${machine.natsServer}, @nats-io/transport-node ${machine.natsClient}`;
}

async function versionOf(binary: string): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(binary, ["--version"]);
    return stdout.trim().replace(/^nats-server:\s*/, "");
  } catch (error) {
    return `unknown (${String(error)})`;
  }
}

async function packageVersion(name: string): Promise<string> {
  try {
    const path = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
    return (JSON.parse(await readFile(path, "utf8")) as { version: string }).version;
  } catch (error) {
    return `unknown (${String(error)})`;
  }
}

export interface CpuShare {
  /** Busy time of all cores over the wall time, as a share of the whole machine (1 = every core busy). */
  readonly machineBusy: number;
  /** This process's CPU time as a share of the whole machine. */
  readonly thisProcess: number;
  /** The private nats-server's, when /proc tells it (Linux). */
  readonly natsServer: number | undefined;
  /** Everything else: other people's tests and builds compete with the benchmark for the cores. */
  readonly others: number | undefined;
}

const CLOCK_TICKS_PER_SECOND = 100;

/** Measures how busy the cores were during a run, and whose work it was: this process, nats-server, or anything else. */
export class CpuMonitor {
  private readonly startBusy = busyAndTotal();
  private readonly startOwn = process.cpuUsage();
  private startServer: number | undefined;
  private serverPid: number | undefined;

  /** Also counts the nats-server listening on `port` (found in /proc by its command line). */
  async watchNatsServer(port: number): Promise<void> {
    this.serverPid = await findProcess((command) => command.includes("nats-server") && command.includes(`-p\u0000${port}\u0000`));
    this.startServer = this.serverPid === undefined ? undefined : await cpuSecondsOf(this.serverPid);
  }

  /** The private nats-server's CPU seconds so far; undefined when /proc does not tell. */
  async natsServerSeconds(): Promise<number | undefined> {
    return this.serverPid === undefined ? undefined : await cpuSecondsOf(this.serverPid);
  }

  async stop(): Promise<CpuShare> {
    const end = busyAndTotal();
    const own = process.cpuUsage(this.startOwn);
    const server = this.serverPid === undefined ? undefined : await cpuSecondsOf(this.serverPid);
    const total = end.total - this.startBusy.total;
    const share = (milliseconds: number) => (total > 0 ? Math.round((milliseconds / total) * 1000) / 1000 : 0);
    const machineBusy = share(end.busy - this.startBusy.busy);
    const thisProcess = share((own.user + own.system) / 1000);
    const natsServer = server === undefined || this.startServer === undefined ? undefined : share((server - this.startServer) * 1000);
    const others = natsServer === undefined ? undefined : Math.max(0, Math.round((machineBusy - thisProcess - natsServer) * 1000) / 1000);
    return { machineBusy, thisProcess, natsServer, others };
  }
}

/** Milliseconds of CPU time of all cores, busy and in all. */
function busyAndTotal(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const cpu of cpus()) {
    const { user, nice, sys, idle, irq } = cpu.times;
    busy += user + nice + sys + irq;
    total += user + nice + sys + idle + irq;
  }
  return { busy, total };
}

async function findProcess(matches: (command: string) => boolean): Promise<number | undefined> {
  try {
    for (const entry of await readdir("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      const command = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
      if (matches(command)) return Number(entry);
    }
  } catch {
    // No /proc (not Linux): the split between nats-server and other work is not reported.
    return undefined;
  }
  return undefined;
}

/** User + system CPU seconds of a process, from /proc/<pid>/stat. */
async function cpuSecondsOf(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  if (stat === undefined) return undefined;
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}
