/**
 * Just enough AMQP 0-9-1 framing for the test proxy to see which methods cross a link: splits a
 * byte stream into whole frames (`type(1) channel(2) size(4) payload(size) 0xCE`) and names the
 * method frames a test may want to wait for, freeze on or count. The client opens with an 8-byte
 * protocol header (`AMQP\0\0\9\1`) that is not a frame.
 */

/** A method frame seen on a link. */
export interface AmqpMethod {
  /** `'channel.close'`, `'basic.consume'`, ... or `'<class>.<method>'` for methods not named here. */
  readonly name: string;
  readonly channel: number;
  /** The queue argument of `basic.consume`, `queue.declare`, `queue.bind`, ...; undefined otherwise. */
  readonly queue?: string;
}

const FRAME_METHOD = 1;
const FRAME_END = 0xce;
const PROTOCOL_HEADER = Buffer.from('AMQP\u0000\u0000\u0009\u0001', 'latin1');

const NAMES: Record<string, string> = {
  '10.50': 'connection.close',
  '10.51': 'connection.close-ok',
  '20.10': 'channel.open',
  '20.40': 'channel.close',
  '20.41': 'channel.close-ok',
  '50.10': 'queue.declare',
  '50.20': 'queue.bind',
  '50.40': 'queue.delete',
  '60.20': 'basic.consume',
  '60.21': 'basic.consume-ok',
  '60.30': 'basic.cancel',
  '60.31': 'basic.cancel-ok',
  '60.40': 'basic.publish',
  '60.80': 'basic.ack',
};

/** Methods whose arguments start with `reserved-1 short, queue shortstr`. */
const QUEUE_FIRST = new Set(['queue.declare', 'queue.bind', 'queue.delete', 'basic.consume']);

/** Splits one direction of a link into frames; `feed` returns the whole frames completed so far. */
export class FrameSplitter {
  private rest: Buffer = Buffer.alloc(0);
  private headerPending: boolean;

  /** `fromClient`: the stream starts with the protocol header. */
  constructor(fromClient: boolean) {
    this.headerPending = fromClient;
  }

  feed(chunk: Buffer): { bytes: Buffer; method?: AmqpMethod }[] {
    this.rest = this.rest.length === 0 ? chunk : Buffer.concat([this.rest, chunk]);
    const out: { bytes: Buffer; method?: AmqpMethod }[] = [];
    if (this.headerPending) {
      if (this.rest.length < PROTOCOL_HEADER.length) return out;
      out.push({ bytes: this.rest.subarray(0, PROTOCOL_HEADER.length) });
      this.rest = this.rest.subarray(PROTOCOL_HEADER.length);
      this.headerPending = false;
    }
    while (this.rest.length >= 7) {
      const size = this.rest.readUInt32BE(3);
      const total = 7 + size + 1;
      if (this.rest.length < total) break;
      const bytes = this.rest.subarray(0, total);
      if (bytes[total - 1] !== FRAME_END) throw new Error('tcp proxy: lost AMQP frame sync');
      out.push({ bytes, method: bytes[0] === FRAME_METHOD ? methodOf(bytes) : undefined });
      this.rest = this.rest.subarray(total);
    }
    return out;
  }
}

function methodOf(frame: Buffer): AmqpMethod {
  const channel = frame.readUInt16BE(1);
  const key = `${frame.readUInt16BE(7)}.${frame.readUInt16BE(9)}`;
  const name = NAMES[key] ?? key;
  if (!QUEUE_FIRST.has(name)) return { name, channel };
  const length = frame[13]!;
  return { name, channel, queue: frame.toString('utf8', 14, 14 + length) };
}
