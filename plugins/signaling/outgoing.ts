// One server event sent to several connections (a room broadcast, a relayed
// data-message): encoded once per wire format and namespace instead of once
// per recipient. What each client receives is byte for byte what
// `connection.emit(event, data)` sends.

/** What engine.io writes for a pre-encoded Socket.IO packet (see socket.io-adapter's broadcast). */
export interface EncodedPackets {
  packets: unknown[]
  opts: { preEncoded: true, wsPreEncodedFrame?: Buffer[] }
}

const headerLength = (length: number): number => length < 126 ? 2 : length < 65_536 ? 4 : 10

/** Writes the header of a server-to-client WebSocket text frame (unmasked, final) at the start of `target`. */
function writeHeader (target: Buffer, length: number): void {
  target[0] = 0x81 // FIN, text
  if (length < 126) {
    target[1] = length
  } else if (length < 65_536) {
    target[1] = 126
    target.writeUInt16BE(length, 2)
  } else {
    target[1] = 127
    target.writeUIntBE(0, 2, 2)
    target.writeUIntBE(length, 4, 6)
  }
}

/** A server-to-client WebSocket text frame for `data`, as header and payload. */
export function textFrame (data: Buffer): Buffer[] {
  const header = Buffer.allocUnsafe(headerLength(data.length))
  writeHeader(header, data.length)
  return [header, data]
}

/** A server-to-client WebSocket text frame for `text`, header and UTF-8 payload in one buffer (one copy of the text). */
export function textFrameOf (text: string): Buffer {
  const length = Buffer.byteLength(text)
  const at = headerLength(length)
  const frame = Buffer.allocUnsafe(at + length)
  writeHeader(frame, length)
  frame.write(text, at, 'utf8')
  return frame
}

export class OutgoingEvent {
  readonly event: string
  readonly data: unknown
  #json: string | undefined
  #jsonDone = false
  #wsWire: Buffer | undefined
  #sioNsp: string | undefined
  #sio: EncodedPackets | undefined

  /** `json`, when given, must be `JSON.stringify(data)` (a caller that already measured the payload). */
  constructor (event: string, data: unknown, json?: string) {
    this.event = event
    this.data = data
    if (json !== undefined) {
      this.#json = json
      this.#jsonDone = true
    }
  }

  /** `JSON.stringify(data)`, computed once. */
  get json (): string | undefined {
    if (!this.#jsonDone) {
      this.#json = JSON.stringify(this.data)
      this.#jsonDone = true
    }
    return this.#json
  }

  /** The plain WebSocket push `{ event, data }` as a whole text frame; its payload is the same bytes as `JSON.stringify({ event, data })`. */
  get wsWire (): Buffer {
    if (this.#wsWire === undefined) {
      const json = this.json
      const head = `{"event":${JSON.stringify(this.event)}`
      this.#wsWire = textFrameOf(json === undefined ? `${head}}` : `${head},"data":${json}}`)
    }
    return this.#wsWire
  }

  /** Socket.IO packets for one namespace, encoded once by the server's encoder (the last namespace is cached). */
  socketIo (nsp: string, encoder: { encode: (packet: never) => unknown[] }): EncodedPackets {
    if (this.#sio === undefined || this.#sioNsp !== nsp) {
      const packets = encoder.encode({ type: 2 /* EVENT */, data: [this.event, this.data], nsp } as never)
      const only = packets.length === 1 ? packets[0] : undefined
      this.#sioNsp = nsp
      this.#sio = typeof only === 'string'
        // "4" is engine.io's message packet type; the frame is what its websocket transport would write.
        ? { packets, opts: { preEncoded: true, wsPreEncodedFrame: textFrame(Buffer.from(`4${only}`)) } }
        : { packets, opts: { preEncoded: true } }
    }
    return this.#sio
  }
}
