// A session's log lines in a test, with a wait for the n-th line that matches (woken by each new line, not polled).

export class SessionLog {
  readonly lines: string[] = [];
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly defaultTimeoutMs = 120_000) {}

  add = (line: string): void => {
    this.lines.push(line);
    for (const wake of this.waiters.splice(0)) wake();
  };

  async waitFor(pattern: RegExp, count = 1, timeoutMs = this.defaultTimeoutMs): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.filter((line) => pattern.test(line));
      if (found.length >= count) return found[count - 1] as string;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no log line ${pattern} (x${count}) within ${timeoutMs} ms:\n${this.lines.slice(-40).join("\n")}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}
