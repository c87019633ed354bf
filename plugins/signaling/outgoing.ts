// One server event sent to several connections (a room broadcast, a relayed
// data-message): encoded once per wire format and namespace instead of once
// per recipient. What each client receives is byte for byte what
// `connection.emit(event, data)` sends.

/** What engine.io writes for a pre-encoded Socket.IO packet (see socket.io-adapter's broadcast). */
export interface EncodedPackets {
  packets: unknown[]
  opts: { preEncoded: true, wsPreEncodedFrame?: Buffer[] }
}

/** A server-to-client WebSocket text frame (unmasked, final) for `data`, as header and payload. */
export function textFrame (data: Buffer): Buffer[] {
  const length = data.length
  let header: Buffer
  if (length < 126) {
    header = Buffer.allocUnsafe(2)
    header[1] = length
  } else if (length < 65_536) {
    header = Buffer.allocUnsafe(4)
    header[1] = 126
    header.writeUInt16BE(length, 2)
  } else {
    header = Buffer.allocUnsafe(10)
    header[1] = 127
    header.writeUIntBE(0, 2, 2)
    header.writeUIntBE(length, 4, 6)
  }
  header[0] = 0x81 // FIN, text
  return [header, data]
}

export class OutgoingEvent {
  readonly event: string
  readonly data: unknown
  #json: string | undefined
  #jsonDone = false
  #wsFrame: Buffer | undefined
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

  /** The plain WebSocket push `{ event, data }` as UTF-8, the same bytes as `JSON.stringify({ event, data })`. */
  get wsFrame (): Buffer {
    if (this.#wsFrame === undefined) {
      const json = this.json
      const head = `{"event":${JSON.stringify(this.event)}`
      this.#wsFrame = Buffer.from(json === undefined ? `${head}}` : `${head},"data":${json}}`)
    }
    return this.#wsFrame
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
