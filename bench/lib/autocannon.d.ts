// autocannon ships no types; the bench uses its programmatic API through a narrow local type
// (see render() in generator.ts).
declare module 'autocannon' {
  const autocannon: (opts: object, cb: (err: Error | null, result: unknown) => void) => unknown;
  export default autocannon;
}
