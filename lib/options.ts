// Plugin options are TypeBox schemas with defaults, validated once at
// registration. An invalid option throws FST_NETPLAY_OPTIONS_INVALID naming
// the option path (e.g. "auth.jwks.cooldownMs") and the reason.
import type { TSchema, Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { OptionsInvalidError } from './errors.ts'

/** Copies plain objects and arrays so defaults never mutate the caller's object; keeps everything else (clients, functions, keys) by reference. */
function copyPlain (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyPlain)
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = copyPlain(v)
    return out
  }
  return value
}

/** Compiles `schema` once; the parser names errors under `scope`, or under `name` when one value of a map is parsed. */
export function optionsParser<const S extends TSchema> (scope: string, schema: S): (input: unknown, name?: string) => Static<S> {
  const validator = Compile(schema)
  return (input, name = scope) => {
    const value = validator.Default(copyPlain(input ?? {}))
    if (validator.Check(value)) return value as Static<S>
    const [first] = validator.Errors(value)
    const path = first?.instancePath ? first.instancePath.slice(1).replaceAll('/', '.') : ''
    const unknownKey = first?.keyword === 'boolean' || first?.keyword === 'additionalProperties'
    throw new OptionsInvalidError(path === '' ? name : `${name}.${path}`, unknownKey ? 'unknown option' : (first?.message ?? 'invalid'))
  }
}
