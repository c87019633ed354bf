// The JSON text of a relayed payload, computed once per message: the
// data-channel guard measures it before the handler runs, and rooms measures
// and sends the same text. Keyed by the payload object the dispatcher hands
// to both, so nothing outlives the message.
const texts = new WeakMap<object, string>()

export function serialized (payload: object): string {
  let text = texts.get(payload)
  if (text === undefined) {
    text = JSON.stringify(payload)
    texts.set(payload, text)
  }
  return text
}
