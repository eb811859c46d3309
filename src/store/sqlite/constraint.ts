/** Did this statement fail on a primary key that exists (an insert of a name or MAC already there)? */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
