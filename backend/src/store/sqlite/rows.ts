/** Conversions between SQLite column values and domain values. */
export const ms = (d: Date): number => d.getTime();
export const msOrNull = (d: Date | null | undefined): number | null => (d ? d.getTime() : null);
export const date = (v: number): Date => new Date(v);
export const dateOrNull = (v: number | null): Date | null => (v === null ? null : new Date(v));
export const bool = (v: number): boolean => v !== 0;
export const int = (b: boolean): number => (b ? 1 : 0);

/** Escapes LIKE wildcards so a search for "50%" matches literally. */
export const likeContains = (q: string): string => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * Builds `SET a = @a, b = @b` from a patch object, using the column map to
 * translate property names and the converter to turn values into SQL values.
 */
export function setClause(
  patch: Record<string, unknown>,
  columns: Record<string, string>,
): { sql: string; params: Record<string, unknown> } {
  const parts: string[] = [];
  const params: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    const column = columns[key];
    if (column === undefined) throw new Error(`Unknown column for ${key}`);
    parts.push(`${column} = @${key}`);
    params[key] = value instanceof Date ? value.getTime() : typeof value === 'boolean' ? int(value) : value;
  }
  return { sql: parts.join(', '), params };
}
