import { MoatError } from '../core/errors.ts';
/**
 * A decoder for the OTLP protobuf messages moat receives (ExportTraceServiceRequest and
 * ExportMetricsServiceRequest, opentelemetry-proto v1), into the same shape as OTLP JSON
 * (camelCase fields, ids as hex, 64-bit integers as strings), so one code path reads both.
 * Field numbers follow opentelemetry/proto/{trace,metrics,common,resource}/v1/*.proto.
 */
type Json = Record<string, unknown>;

class Reader {
  readonly #buf: Uint8Array;
  #pos: number;
  readonly #end: number;
  readonly #view: DataView;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.#buf = buf;
    this.#pos = start;
    this.#end = end;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get done(): boolean {
    return this.#pos >= this.#end;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.#pos >= this.#end) throw new MoatError('truncated varint');
      const byte = this.#buf[this.#pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw new MoatError('varint too long');
    }
  }

  tag(): { field: number; wire: number } {
    const key = Number(this.varint());
    return { field: key >>> 3, wire: key & 7 };
  }

  fixed64(): bigint {
    const value = this.#view.getBigUint64(this.#pos, true);
    this.#pos += 8;
    return value;
  }

  double(): number {
    const value = this.#view.getFloat64(this.#pos, true);
    this.#pos += 8;
    return value;
  }

  /** A length-delimited field: a sub-reader over its bytes. */
  bytes(): Reader {
    const length = Number(this.varint());
    if (this.#pos + length > this.#end) throw new MoatError('truncated length-delimited field');
    const sub = new Reader(this.#buf, this.#pos, this.#pos + length);
    this.#pos += length;
    return sub;
  }

  raw(): Uint8Array {
    return this.#buf.subarray(this.#pos, this.#end);
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.#pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.#pos += 4;
    else throw new MoatError(`unsupported wire type ${wire}`);
  }
}

const text = new TextDecoder();
const str = (r: Reader) => text.decode(r.bytes().raw());
const hex = (r: Reader) => Buffer.from(r.bytes().raw()).toString('hex');

/** Reads a message: `fields[n]` handles field n; unknown fields are skipped. */
function message(r: Reader, fields: Record<number, (r: Reader, wire: number, out: Json) => void>): Json {
  const out: Json = {};
  while (!r.done) {
    const { field, wire } = r.tag();
    const handle = fields[field];
    if (handle) handle(r, wire, out);
    else r.skip(wire);
  }
  return out;
}

function push(out: Json, key: string, value: unknown): void {
  ((out[key] ??= []) as unknown[]).push(value);
}

function anyValue(r: Reader): Json {
  return message(r, {
    1: (r, _w, o) => { o.stringValue = str(r); },
    2: (r, _w, o) => { o.boolValue = r.varint() !== 0n; },
    3: (r, _w, o) => { o.intValue = BigInt.asIntN(64, r.varint()).toString(); },
    4: (r, _w, o) => { o.doubleValue = r.double(); },
    5: (r, _w, o) => { o.arrayValue = message(r.bytes(), { 1: (r, _w, a) => push(a, 'values', anyValue(r.bytes())) }); },
    6: (r, _w, o) => { o.kvlistValue = message(r.bytes(), { 1: (r, _w, a) => push(a, 'values', keyValue(r.bytes())) }); },
    7: (r, _w, o) => { o.bytesValue = Buffer.from(r.bytes().raw()).toString('base64'); },
  });
}

function keyValue(r: Reader): Json {
  return message(r, { 1: (r, _w, o) => { o.key = str(r); }, 2: (r, _w, o) => { o.value = anyValue(r.bytes()); } });
}

const attributesAt = (r: Reader, _w: number, o: Json) => push(o, 'attributes', keyValue(r.bytes()));

function resource(r: Reader): Json {
  return message(r, { 1: attributesAt });
}

function scope(r: Reader): Json {
  return message(r, { 1: (r, _w, o) => { o.name = str(r); }, 2: (r, _w, o) => { o.version = str(r); }, 3: attributesAt });
}

function span(r: Reader): Json {
  return message(r, {
    1: (r, _w, o) => { o.traceId = hex(r); },
    2: (r, _w, o) => { o.spanId = hex(r); },
    3: (r, _w, o) => { o.traceState = str(r); },
    4: (r, _w, o) => { o.parentSpanId = hex(r); },
    5: (r, _w, o) => { o.name = str(r); },
    6: (r, _w, o) => { o.kind = Number(r.varint()); },
    7: (r, _w, o) => { o.startTimeUnixNano = r.fixed64().toString(); },
    8: (r, _w, o) => { o.endTimeUnixNano = r.fixed64().toString(); },
    9: attributesAt,
    11: (r, _w, o) => push(o, 'events', message(r.bytes(), { 1: (r, _w, e) => { e.timeUnixNano = r.fixed64().toString(); }, 2: (r, _w, e) => { e.name = str(r); }, 3: attributesAt })),
    15: (r, _w, o) => { o.status = message(r.bytes(), { 2: (r, _w, s) => { s.message = str(r); }, 3: (r, _w, s) => { s.code = Number(r.varint()); } }); },
  });
}

export function decodeTraces(body: Uint8Array): Json {
  return message(new Reader(body), {
    1: (r, _w, o) => push(o, 'resourceSpans', message(r.bytes(), {
      1: (r, _w, rs) => { rs.resource = resource(r.bytes()); },
      2: (r, _w, rs) => push(rs, 'scopeSpans', message(r.bytes(), {
        1: (r, _w, ss) => { ss.scope = scope(r.bytes()); },
        2: (r, _w, ss) => push(ss, 'spans', span(r.bytes())),
      })),
    })),
  });
}

/** Packed or unpacked repeated fixed64 / double. */
function repeated(r: Reader, wire: number, read: (r: Reader) => number | string): (number | string)[] {
  if (wire !== 2) return [read(r)];
  const sub = r.bytes();
  const values: (number | string)[] = [];
  while (!sub.done) values.push(read(sub));
  return values;
}

function numberPoint(r: Reader): Json {
  return message(r, {
    7: attributesAt,
    2: (r, _w, o) => { o.startTimeUnixNano = r.fixed64().toString(); },
    3: (r, _w, o) => { o.timeUnixNano = r.fixed64().toString(); },
    4: (r, _w, o) => { o.asDouble = r.double(); },
    6: (r, _w, o) => { o.asInt = BigInt.asIntN(64, r.fixed64()).toString(); },
  });
}

function histogramPoint(r: Reader): Json {
  return message(r, {
    9: attributesAt,
    2: (r, _w, o) => { o.startTimeUnixNano = r.fixed64().toString(); },
    3: (r, _w, o) => { o.timeUnixNano = r.fixed64().toString(); },
    4: (r, _w, o) => { o.count = r.fixed64().toString(); },
    5: (r, _w, o) => { o.sum = r.double(); },
    6: (r, w, o) => { ((o.bucketCounts ??= []) as unknown[]).push(...repeated(r, w, (x) => x.fixed64().toString())); },
    7: (r, w, o) => { ((o.explicitBounds ??= []) as unknown[]).push(...repeated(r, w, (x) => x.double())); },
    11: (r, _w, o) => { o.min = r.double(); },
    12: (r, _w, o) => { o.max = r.double(); },
  });
}

function metric(r: Reader): Json {
  const points = (kind: (r: Reader) => Json) => (r: Reader, _w: number, o: Json) => push(o, 'dataPoints', kind(r.bytes()));
  return message(r, {
    1: (r, _w, o) => { o.name = str(r); },
    2: (r, _w, o) => { o.description = str(r); },
    3: (r, _w, o) => { o.unit = str(r); },
    5: (r, _w, o) => { o.gauge = message(r.bytes(), { 1: points(numberPoint) }); },
    7: (r, _w, o) => { o.sum = message(r.bytes(), { 1: points(numberPoint), 2: (r, _w, s) => { s.aggregationTemporality = Number(r.varint()); }, 3: (r, _w, s) => { s.isMonotonic = r.varint() !== 0n; } }); },
    9: (r, _w, o) => { o.histogram = message(r.bytes(), { 1: points(histogramPoint), 2: (r, _w, s) => { s.aggregationTemporality = Number(r.varint()); } }); },
  });
}

export function decodeMetrics(body: Uint8Array): Json {
  return message(new Reader(body), {
    1: (r, _w, o) => push(o, 'resourceMetrics', message(r.bytes(), {
      1: (r, _w, rm) => { rm.resource = resource(r.bytes()); },
      2: (r, _w, rm) => push(rm, 'scopeMetrics', message(r.bytes(), {
        1: (r, _w, sm) => { sm.scope = scope(r.bytes()); },
        2: (r, _w, sm) => push(sm, 'metrics', metric(r.bytes())),
      })),
    })),
  });
}
