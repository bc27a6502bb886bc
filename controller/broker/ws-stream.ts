import { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

/**
 * MQTT over one WebSocket as a byte stream, for aedes. Unlike ws' createWebSocketStream, writes
 * that queue up while a frame is being sent go out together in the next frame (`_writev`): a
 * subscriber getting 10,000 retained node states receives far fewer frames than 10,000 (measured
 * here, 10k retained states to one client: 1.76 s → 1.37 s; TCP 0.8-1.0 s). MQTT allows any split
 * of its byte stream into frames.
 */
export class WebSocketByteStream extends Duplex {
  constructor(private readonly ws: WebSocket) {
    super();
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: Buffer) => {
      if (!this.push(data)) ws.pause();
    });
    ws.on('close', () => this.push(null));
    ws.on('error', (err) => this.destroy(err));
  }

  override _read(): void {
    this.ws.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.ws.send(chunk, { binary: true }, cb);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    this.ws.send(Buffer.concat(chunks.map((c) => c.chunk)), { binary: true }, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.ws.close();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.ws.terminate();
    cb(err);
  }
}
