// The JSON text of a relayed payload, and its size in bytes, computed once
// per message: the event table charges by size, the data-channel guard
// measures it before the handler runs, and rooms measures and sends the same
// text. Keyed by the payload object the dispatcher hands to all of them, so
// nothing outlives the message.
interface Serialized { text: string, bytes: number }

const texts = new WeakMap<object, Serialized>()

function entry (payload: object): Serialized {
  let found = texts.get(payload)
  if (found === undefined) {
    const text = JSON.stringify(payload)
    found = { text, bytes: Buffer.byteLength(text) }
    texts.set(payload, found)
  }
  return found
}

export function serialized (payload: object): string {
  return entry(payload).text
}

/** UTF-8 bytes of `serialized(payload)`. */
export function serializedBytes (payload: object): number {
  return entry(payload).bytes
}
