import { MusterError } from '../../shared/errors.js';

/** Bad input to a record (hwlog, switch, BIOS, site file): the message is for the admin, as is. */
export class RecordError extends MusterError {
  override readonly name = 'RecordError';
  constructor(message: string) {
    super(message, 'bad-record');
  }
}
