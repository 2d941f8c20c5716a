/**
 * Hashing and encryption at rest. Upstream keys (kept only while a task is being polled)
 * and webhook secrets are stored sealed with AES-GCM under a key derived (HKDF-SHA-256)
 * from KEY_ENCRYPTION_SECRET, so a leaked D1 or Durable Object snapshot holds no usable
 * credential. The `purpose` is both the HKDF info and the AES-GCM additional data: a value
 * sealed for one purpose cannot be opened as another.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const SEAL_VERSION = "v1";

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(text));
  return toHex(new Uint8Array(digest));
}

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

export type SealPurpose = "upstream-key" | "webhook-secret";

// Deriving is cheap but not free; a worker isolate keeps the derived keys it has used.
const keyCache = new Map<string, Promise<CryptoKey>>();

function deriveKey(secret: string, purpose: SealPurpose): Promise<CryptoKey> {
  const cacheKey = `${purpose}\u0000${secret}`;
  let key = keyCache.get(cacheKey);
  if (!key) {
    key = (async () => {
      const material = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, [
        "deriveKey",
      ]);
      return crypto.subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: encoder.encode("yuanjing-relay"), info: encoder.encode(purpose) },
        material,
        { name: "AES-GCM", length: 256 },
        false,
        ["encrypt", "decrypt"],
      );
    })();
    keyCache.set(cacheKey, key);
  }
  return key;
}

/** Seals `plaintext` as `v1.<iv>.<ciphertext>` (base64 parts). */
export async function seal(secret: string, purpose: SealPurpose, plaintext: string): Promise<string> {
  const key = await deriveKey(secret, purpose);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(purpose) },
    key,
    encoder.encode(plaintext),
  );
  return `${SEAL_VERSION}.${toBase64(iv)}.${toBase64(new Uint8Array(ciphertext))}`;
}

/** Opens a value made by `seal`; throws if it was tampered with or sealed for another purpose. */
export async function unseal(secret: string, purpose: SealPurpose, sealed: string): Promise<string> {
  const [version, ivText, dataText] = sealed.split(".");
  if (version !== SEAL_VERSION || !ivText || !dataText) throw new Error("not a sealed value");
  const key = await deriveKey(secret, purpose);
  const plaintext = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: fromBase64(ivText), additionalData: encoder.encode(purpose) },
    key,
    fromBase64(dataText),
  );
  return decoder.decode(plaintext);
}
