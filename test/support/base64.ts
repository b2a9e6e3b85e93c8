/**
 * RFC 4648 Base64 decoded by hand (the standard alphabet only, padding, length a multiple of 4),
 * then strict UTF-8: the tests' own decoder, so an encoding bug in the product is not mirrored by
 * decoding with the product's code (or with Buffer, which also takes base64url and bad padding).
 */
export function base64Strict(text: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new Error(`not Base64: ${text}`);
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i += 4) {
    const chunk = text.slice(i, i + 4);
    const n = [...chunk].map((c) => (c === '=' ? 0 : alphabet.indexOf(c)));
    const v = (n[0] << 18) | (n[1] << 12) | (n[2] << 6) | n[3];
    bytes.push((v >> 16) & 255);
    if (chunk[2] !== '=') bytes.push((v >> 8) & 255);
    if (chunk[3] !== '=') bytes.push(v & 255);
  }
  // ignoreBOM: a leading U+FEFF is a character the scripts keep ([Text.Encoding]::UTF8.GetString), not a mark to drop
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Uint8Array.from(bytes));
}
