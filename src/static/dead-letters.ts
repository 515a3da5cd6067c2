// The bad records of one static run (collect, count, show, or a join's static side loading): gathered while the files
// are parsed, then published as the streams publish theirs (src/actors/dead-letter.ts), and counted.
import { publishDeadLetter } from "../actors/dead-letter.ts";
import type { Transport } from "../actors/transport.ts";
import type { DeadLetters } from "./execute.ts";

/** The session's totals over every static run so far. */
export interface StaticBadRecordCounts {
  numDeadLetters: number;
  numDroppedMalformed: number;
}

export class StaticDeadLetters implements DeadLetters {
  private readonly pending: Array<{ raw: unknown; reason: string }> = [];
  private dropped = 0;
  private firstDropped: string | undefined;

  constructor(private readonly totals: StaticBadRecordCounts) {}

  add(raw: unknown, reason: string): void {
    this.pending.push({ raw, reason });
    this.totals.numDeadLetters++;
  }

  drop(reason: string): void {
    this.dropped++;
    this.firstDropped ??= reason;
    this.totals.numDroppedMalformed++;
  }

  /**
   * Publishes the gathered dead letters on `subject` (connecting the session's transport if no query has yet) and waits
   * until the broker has them; returns the line to log, or undefined when the run had no bad record.
   */
  async deliver(connect: () => Promise<Transport>, subject: string, source: string): Promise<string | undefined> {
    const lines: string[] = [];
    if (this.pending.length > 0) {
      const transport = await connect();
      const letters = this.pending.splice(0);
      for (const letter of letters) publishDeadLetter(transport, subject, { query: "static", source, reason: letter.reason }, letter.raw);
      await transport.flush();
      lines.push(`${letters.length} bad record${letters.length === 1 ? "" : "s"} went to the dead-letter subject ${subject} (the first: ${letters[0]?.reason})`);
    }
    if (this.dropped > 0) lines.push(`mode DROPMALFORMED dropped ${this.dropped} malformed record${this.dropped === 1 ? "" : "s"} (the first: ${this.firstDropped})`);
    this.dropped = 0;
    return lines.length === 0 ? undefined : `rill: ${source}: ${lines.join("; ")}`;
  }
}
