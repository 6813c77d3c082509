/**
 * Whether the server's preview stream renders a type inline: images (SVG
 * excepted: it runs script), audio, video, PDF and plain text. Mirrors
 * `previewable()` in backend/src/downloads/headers.ts; for anything else the
 * preview stream would only send an attachment, so the UI offers Download alone.
 */
export function previewable(mimeType: string): boolean {
  const essence = (mimeType.split(';')[0] ?? '').trim().toLowerCase();
  if (essence === 'application/pdf' || essence === 'text/plain') return true;
  const [type, subtype = ''] = essence.split('/');
  if (type === 'image') return !subtype.includes('svg');
  return type === 'audio' || type === 'video';
}
