// The bad records of one static run (collect, count, show, or a join's static side loading): gathered while the files
// are parsed, then published through the queries' dead-letter output (src/deadletters/output.ts: into the JetStream
// stream that captures the subject, created if none does, or as core NATS messages without JetStream), and counted.
import { deadLetterBytes } from "../actors/dead-letter.ts";
import type { Transport } from "../actors/transport.ts";
import { DeadLetterOutput, type DeadLetterSettings } from "../deadletters/output.ts";
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
   * Publishes the gathered dead letters (connecting the session's transport if no query has yet) and waits until the
   * stream has acknowledged them (or, without JetStream, the broker has them); returns the line to log, or undefined
   * when the run had no bad record.
   */
  async deliver(connect: () => Promise<Transport>, settings: DeadLetterSettings, source: string, log: (line: string) => void): Promise<string | undefined> {
    const lines: string[] = [];
    if (this.pending.length > 0) {
      const transport = await connect();
      const letters = this.pending.splice(0);
      const output = new DeadLetterOutput(transport, settings, log);
      for (const letter of letters) output.publishNow(deadLetterBytes({ query: "static", source, reason: letter.reason }, letter.raw, transport.maxPayload));
      await output.drained();
      await transport.flush();
      const status = output.status();
      const where = status.target === "jetstream" ? `the dead-letter stream ${status.stream ?? settings.stream} (subject ${settings.subject})` : `the dead-letter subject ${settings.subject}`;
      lines.push(`${letters.length} bad record${letters.length === 1 ? "" : "s"} went to ${where} (the first: ${letters[0]?.reason})`);
    }
    if (this.dropped > 0) lines.push(`mode DROPMALFORMED dropped ${this.dropped} malformed record${this.dropped === 1 ? "" : "s"} (the first: ${this.firstDropped})`);
    this.dropped = 0;
    return lines.length === 0 ? undefined : `rill: ${source}: ${lines.join("; ")}`;
  }
}
