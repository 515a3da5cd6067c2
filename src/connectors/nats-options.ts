// What the NATS source and sink share: payload encodings and the check of a subject option.

export type NatsEncoding = "json" | "msgpack";
export const NATS_ENCODINGS: readonly NatsEncoding[] = ["json", "msgpack"];

/** Checks a subject a source may subscribe to (`wildcards`) or a sink may publish to; returns the reason it is wrong. */
export function subjectProblem(subject: string, wildcards: boolean): string | undefined {
  if (/\s/.test(subject)) return "a subject has no white space";
  const tokens = subject.split(".");
  if (tokens.some((token) => token === "")) return "a subject's tokens, between dots, are not empty";
  if (!wildcards && tokens.some((token) => token === "*" || token === ">")) return "a published subject has no wildcards ('*', '>')";
  if (tokens.slice(0, -1).includes(">")) return "'>' may only be the last token";
  return undefined;
}
