// Clean exits for the `rill` command: SIGINT, SIGTERM and a closed stdout (`rill demo | head`) all ask for one graceful
// stop; a second signal exits at once. Whatever ends the process, its private nats-server goes too (src/actors/nats-watchdog.ts).
export interface Shutdown {
  /** Resolves with the reason once a stop is asked for (a signal, or stdout closed). */
  readonly requested: Promise<string>;
  /** False once stdout is closed: print nothing more. */
  readonly canPrint: () => boolean;
}

export function handleShutdown(log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Shutdown {
  let ask: (reason: string) => void = () => undefined;
  const requested = new Promise<string>((resolve) => (ask = resolve));
  let asked = false;
  let stdoutOpen = true;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (asked) {
      // The second signal: no more waiting. The nats-server watchdog sees this process go and stops the server.
      process.exit(signal === "SIGINT" ? 130 : 143);
    }
    asked = true;
    if (stdoutOpen) log(`rill: ${signal}: stopping every query after its last epoch commits (${signal === "SIGINT" ? "Ctrl-C" : "the signal"} again exits at once)`);
    ask(signal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // A reader that went away (`| head`) is not an error: stop as for a signal, and write nothing more.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    stdoutOpen = false;
    asked = true;
    ask("stdout closed");
  });
  return { requested, canPrint: () => stdoutOpen };
}
