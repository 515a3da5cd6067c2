// Asking a NATS cluster again while it cannot answer: a lost node's streams and consumers elect new leaders, and for
// those seconds JetStream requests time out or are refused with 503. Which errors mean that is the transport's to say.

/** The longest pause between two attempts: a cluster elects a leader in seconds, so a new attempt soon is worth it. */
const MAX_PAUSE_MS = 1000;

/**
 * Runs `action` until it succeeds, again after each error `isUnavailable` accepts (with a pause growing from 100 ms to
 * 1 s) for as long as `patienceMs` since the first attempt allows, and while `stillWanted()` holds; any other error,
 * or one after that, is thrown as it is.
 */
export async function whileUnavailable<T>(action: () => Promise<T>, isUnavailable: (error: unknown) => boolean, patienceMs: number, stillWanted: () => boolean = () => true): Promise<T> {
  const deadline = Date.now() + patienceMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await action();
    } catch (error) {
      const pause = Math.min(MAX_PAUSE_MS, 100 * 2 ** attempt);
      if (!isUnavailable(error) || !stillWanted() || Date.now() + pause >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}
