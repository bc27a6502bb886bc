import { ApiError } from '../api/verb.js';

/** Bad input to a record (hwlog, switch, BIOS, site file): the message is for the admin, as is. */
export class RecordError extends ApiError {
  override readonly name = 'RecordError';
  constructor(message: string) {
    super(message, 'bad-record');
  }
}
