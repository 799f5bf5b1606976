// Traces waiting to be written, held outside the JavaScript heap: each entry's request id and its
// stored form as UTF-8 bytes in one growing Buffer, in arrival order. Kept as strings or objects,
// every waiting trace outlived the young generation's short collections (traces wait up to the
// flush delay) and was promoted into the old generation: when every request is traced, that
// promotion and the old generation's collections cost more than encoding and writing the traces
// together (bench/README.md, tracing). Bytes in a Buffer are never scanned, copied or promoted by
// the collector; the strings of an entry exist only while it is written or read.
//
// An entry is a trace's JSON text, or a reference: a decision exactly like one kept before (store.ts
// `keep`), held as its request id, time and the index of the shared body among this buffer's
// bodies, and written as JSON only where it is written (a reference record, or a page's compact
// entry: trace-pages.ts), so that the hot path encodes nothing but the id.
import { randomUUID } from 'node:crypto';

import { referenceJson } from './stored-trace.ts';

export interface TraceEntry {
  readonly id: string;
  readonly json: string;
  /** The id is one Baton issued (TraceRecorder.issuedId): such traces may be paged (trace-pages.ts). */
  readonly issuedId?: boolean;
}

/** A stored trace that references refer to: its body record's id (kind TRACE_BODY_KIND) and JSON text. */
export interface TraceBody {
  readonly id: string;
  readonly json: string;
}

/** Entry header: flags (uint8: ISSUED, REFERENCE), id length (uint16), payload length (uint32), little-endian. */
const HEADER = 7;
const ISSUED = 1;
const REFERENCE = 2;
/** A reference's payload: its time (float64) and its body's index (uint32). */
const REFERENCE_PAYLOAD = 12;
/** Ids this long or shorter are written byte by byte when they are ASCII (request ids are: REQUEST_ID). */
const SHORT_ID = 64;

/** A buffer grown past this by a burst is given back when emptied, not kept for the next entries. */
const KEEP_AT_MOST = 1024 * 1024;

export class TraceBuffer {
  #bytes: Buffer;
  #used = 0;
  #count = 0;
  #bodies: TraceBody[] = [];
  readonly #initialBytes: number;

  constructor(initialBytes = 64 * 1024) {
    this.#initialBytes = initialBytes;
    this.#bytes = Buffer.allocUnsafe(initialBytes);
  }

  /** Bytes held (for tests and metrics). */
  get capacity(): number {
    return this.#bytes.length;
  }

  get count(): number {
    return this.#count;
  }

  /** Bytes the entries take. */
  get size(): number {
    return this.#used;
  }

  /** The bodies references in this buffer refer to, by index (`clear` starts a new array: this one stays as it is). */
  get bodies(): readonly TraceBody[] {
    return this.#bodies;
  }

  /** The raw bytes (trace-pages.ts copies entries from them); valid until the next push. */
  get bytes(): Buffer {
    return this.#bytes;
  }

  push(id: string, json: string, issuedId = false): void {
    const jsonBytes = Buffer.byteLength(json);
    const at = this.#header(id, issuedId ? ISSUED : 0, jsonBytes);
    this.#used = at + this.#bytes.write(json, at, 'utf8');
    this.#count += 1;
  }

  /** A trace that made the same decision as body `body` (addBody): its id and time only. */
  pushReference(id: string, time: number, body: number, issuedId = false): void {
    const at = this.#header(id, issuedId ? ISSUED | REFERENCE : REFERENCE, REFERENCE_PAYLOAD);
    this.#bytes.writeDoubleLE(time, at);
    this.#bytes.writeUInt32LE(body, at + 8);
    this.#used = at + REFERENCE_PAYLOAD;
    this.#count += 1;
  }

  /** Adds the JSON text of a stored trace that references will refer to; answers its index. */
  addBody(json: string): number {
    this.#bodies.push({ id: `~${randomUUID()}`, json });
    return this.#bodies.length - 1;
  }

  /** Where each entry starts, in arrival order (for the accessors below). */
  offsets(): number[] {
    const offsets: number[] = [];
    for (let at = 0; at < this.#used; at = this.#end(at)) offsets.push(at);
    return offsets;
  }

  issued(offset: number): boolean {
    return (this.#bytes[offset]! & ISSUED) !== 0;
  }

  /** The body index of a reference; -1 for a trace in full. */
  body(offset: number): number {
    return (this.#bytes[offset]! & REFERENCE) === 0 ? -1 : this.#bytes.readUInt32LE(this.#payload(offset) + 8);
  }

  /** A reference's time. */
  time(offset: number): number {
    return this.#bytes.readDoubleLE(this.#payload(offset));
  }

  id(offset: number): string {
    return this.#bytes.toString('utf8', offset + HEADER, this.#payload(offset));
  }

  /** Where the entry's id bytes start and end. */
  idRange(offset: number): [start: number, end: number] {
    return [offset + HEADER, this.#payload(offset)];
  }

  /** Where a full entry's JSON bytes start and end. */
  jsonRange(offset: number): [start: number, end: number] {
    return [this.#payload(offset), this.#end(offset)];
  }

  /** The entry with its JSON text (a reference's as the reference record holds it: stored-trace.ts referenceJson). */
  entry(offset: number): TraceEntry {
    const body = this.body(offset);
    const id = this.id(offset);
    const json = body < 0 ? this.#bytes.toString('utf8', this.#payload(offset), this.#end(offset)) : referenceJson(id, this.time(offset), this.#bodies[body]!.id);
    return { id, json, issuedId: this.issued(offset) };
  }

  /** The entries, in arrival order (decoded as they are reached). */
  *entries(): Generator<TraceEntry> {
    for (const offset of this.offsets()) yield this.entry(offset);
  }

  /** The JSON text of the first entry under `id`, if any (a scan: for reads, never per request). */
  find(id: string): string | undefined {
    const wanted = Buffer.from(id, 'utf8');
    for (let at = 0; at < this.#used; at = this.#end(at)) {
      const [start, end] = this.idRange(at);
      if (end - start === wanted.length && this.#bytes.compare(wanted, 0, wanted.length, start, end) === 0) return this.entry(at).json;
    }
    return undefined;
  }

  /** Empties the buffer, keeping its memory for the next entries unless a burst grew it past KEEP_AT_MOST. */
  clear(): void {
    this.#used = 0;
    this.#count = 0;
    this.#bodies = [];
    if (this.#bytes.length > Math.max(KEEP_AT_MOST, this.#initialBytes)) this.#bytes = Buffer.allocUnsafe(this.#initialBytes);
  }

  /** Writes an entry's header and id; answers where its payload goes. */
  #header(id: string, flags: number, payloadBytes: number): number {
    // An ASCII id (request ids are: REQUEST_ID) is written byte by byte as it is checked, in one pass.
    if (id.length <= SHORT_ID) {
      this.#reserve(HEADER + id.length + payloadBytes);
      const bytes = this.#bytes;
      const start = this.#used + HEADER;
      let i = 0;
      for (; i < id.length; i++) {
        const code = id.charCodeAt(i);
        if (code > 0x7f) break;
        bytes[start + i] = code;
      }
      if (i === id.length) return this.#fields(flags, id.length, payloadBytes) + id.length;
    }
    const idBytes = Buffer.byteLength(id);
    if (idBytes > 0xffff) throw new RangeError('request id too long');
    this.#reserve(HEADER + idBytes + payloadBytes);
    const at = this.#fields(flags, idBytes, payloadBytes);
    return at + this.#bytes.write(id, at, 'utf8');
  }

  /** The header's fields at the end of the entries; answers where the id goes. */
  #fields(flags: number, idBytes: number, payloadBytes: number): number {
    const bytes = this.#bytes;
    const at = this.#used;
    bytes[at] = flags;
    bytes.writeUInt16LE(idBytes, at + 1);
    bytes.writeUInt32LE(payloadBytes, at + 3);
    return at + HEADER;
  }

  #payload(offset: number): number {
    return offset + HEADER + this.#bytes.readUInt16LE(offset + 1);
  }

  #end(offset: number): number {
    return this.#payload(offset) + this.#bytes.readUInt32LE(offset + 3);
  }

  #reserve(more: number): void {
    if (this.#used + more <= this.#bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#bytes.length * 2, this.#used + more));
    this.#bytes.copy(grown, 0, 0, this.#used);
    this.#bytes = grown;
  }
}
