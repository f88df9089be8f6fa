/**
 * The one POSIX shell quoting of nxc: commands sent to nodes (SSH, `docker exec sh -c`), the
 * driver's snippets and the copy-pasteable command lines nxc prints.
 */

/**
 * Quotes one word for a POSIX shell so that it reads back unchanged: plain words stay bare,
 * anything else is single-quoted (`it's` -> `'it'\''s'`, the empty word -> `''`).
 */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
