// Where a JetStream stream ends now, for a reader that must read everything stored before it asked (prepare(),
// processAllAvailable): decided from what the stream's LEADER answers, never from a replica.
//
// A consumer (and so a probe consumer's num_pending) lives on one replica of the stream, which the cluster picks at
// random among the stream's peers; a follower applies what the leader acked a little later, and a node restarted after
// a loss catches up for seconds. Its figure can be thousands of messages short: a drain target taken from it made
// processAllAvailable() return with input unread (test/actors/jetstream-end.test.ts, test/cluster/commit-kill.test.ts).
// The leader acks a publish only once it stored the message, and only the leader answers STREAM.MSG.GET and
// STREAM.INFO in a cluster: the sequence it names is at least that of every publish acked before the question.

/** What the stream's leader answered. */
export interface LeaderAnswers {
  /** Messages the stream holds (STREAM.INFO). */
  readonly messages: number;
  /** The sequence of its last message (STREAM.INFO); it may name a message deleted since. */
  readonly lastSequence: number;
  /**
   * For each subject asked (the reader's filter, or else each subject of the stream), the sequence of the last message
   * stored on it (STREAM.MSG.GET last_by_subj), undefined when it holds none.
   */
  readonly lastBySubject: ReadonlyArray<number | undefined>;
}

/**
 * The subjects to ask for their last message: the reader's filter, or else each subject of the stream (none for a
 * stream without subjects of its own, a mirror). `>` is asked as `*` and `*.>`, which match the same: the server
 * answers `>` with the stream's last sequence whether or not that message still exists.
 */
export function subjectsToAsk(filter: string | undefined, streamSubjects: readonly string[]): string[] {
  const subjects = filter === undefined ? streamSubjects : [filter];
  return [...new Set(subjects.flatMap((subject) => (subject === ">" ? ["*", "*.>"] : [subject])))];
}

/**
 * The stream sequence a reader has read everything stored now once it reaches: the last message on the subjects
 * asked, 0 when there is none. A stream without subjects of its own (a mirror) has nothing to ask per subject: its
 * last sequence then, when it holds any message.
 */
export function endSequence(answers: LeaderAnswers): number {
  let end = 0;
  let found = false;
  for (const last of answers.lastBySubject) {
    if (last === undefined) continue;
    found = true;
    end = Math.max(end, last);
  }
  if (found) return end;
  // Nothing matched on any subject asked, or no subject was asked: the stream's own figures, when it holds anything.
  return answers.lastBySubject.length === 0 && answers.messages > 0 ? answers.lastSequence : 0;
}
