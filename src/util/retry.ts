/** Bounded retries with exponential backoff for transient failures (network, 5xx). */
export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  isTransient: (err: unknown) => boolean;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

export async function withRetry<T>(operation: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  let attempt = 1;
  for (;;) {
    try {
      return await operation();
    } catch (err) {
      if (attempt >= policy.attempts || !policy.isTransient(err)) throw err;
      const delayMs = policy.baseDelayMs * 2 ** (attempt - 1);
      policy.onRetry?.(err, attempt, delayMs);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      attempt += 1;
    }
  }
}
