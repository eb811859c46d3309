/**
 * Why an asset operation failed, independent of who asked (CLI today, maybe the server later):
 * - `input`: the request itself is wrong (bad version, missing source directory);
 * - `download`: the mirror could not be reached or answered with an error — retrying may help;
 * - `integrity`: what arrived is not what was published (checksum or format) — retrying will not.
 */
export type AssetErrorKind = 'input' | 'download' | 'integrity';

export class AssetError extends Error {
  constructor(
    readonly kind: AssetErrorKind,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'AssetError';
  }
}
