// Room passwords are kept only as scrypt hashes and compared in constant time.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: { N: number, r: number, p: number }) => Promise<Buffer>
const PARAMS = { N: 16384, r: 8, p: 1 }
const KEY_BYTES = 32

export interface PasswordHash { salt: Buffer, hash: Buffer }

export async function hashPassword (password: string): Promise<PasswordHash> {
  const salt = randomBytes(16)
  return { salt, hash: await scryptAsync(password, salt, KEY_BYTES, PARAMS) }
}

export async function passwordMatches (stored: PasswordHash, candidate: string): Promise<boolean> {
  const hash = await scryptAsync(candidate, stored.salt, KEY_BYTES, PARAMS)
  return timingSafeEqual(hash, stored.hash)
}
