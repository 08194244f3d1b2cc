/**
 * One operation at a time per key (a source's cache directory): calls made while one is
 * running wait their turn, in order. In-process only; git's own lock files guard the rest.
 */

const tails = new Map<string, Promise<void>>();

export async function serialised<T>(key: string, operation: () => Promise<T>): Promise<T> {
  const previous = tails.get(key) ?? Promise.resolve();
  let release!: () => void;
  const done = new Promise<void>((resolve) => {
    release = resolve;
  });
  const tail = previous.then(() => done);
  tails.set(key, tail);
  await previous;
  try {
    return await operation();
  } finally {
    release();
    if (tails.get(key) === tail) tails.delete(key);
  }
}
