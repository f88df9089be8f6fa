/**
 * A value built on first use (issue #17): a zod schema costs its construction at module load
 * (zod binds every method of every schema object), which every command would pay for the
 * schemas of files it never reads. `lazy(() => z.object(...))` builds it once, when needed.
 */
export function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  let made = false;
  return () => {
    if (!made) {
      value = make();
      made = true;
    }
    return value as T;
  };
}
